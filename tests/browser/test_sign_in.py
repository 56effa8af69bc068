"""Sign-in in a real browser (issue 17): a real `streamlit run app.py` with a users file, two
Chromium contexts (two people, separate cookies). A visitor who has not signed in sees only the
form; Alice's question becomes her chat, which Bob never sees, and Bob's chat never reaches
Alice; Bob, not an admin, gets no server-wide controls, and Alice's new collection stays hers.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from rag.access.users import COOKIE_NAME, add_user
from rag.answer.history import ChatHistory
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORDS = {"alice": "Alice-pass-771", "bob": "Bob-pass-4402"}
ALICE_QUESTION = "When does the Quillfeather launch happen?"
BOB_TITLE = "Bob merger plan"
ALICE_COLLECTION = "alice-private"
ANSWER_TIMEOUT_MS = 600_000  # the first question loads the embedding model on 2 shared cores


@pytest.fixture
def app_extra_env(tmp_path) -> dict[str, str]:
    users = tmp_path / "users.yaml"
    add_user(users, "alice", PASSWORDS["alice"], name="Alice", admin=True)
    add_user(users, "bob", PASSWORDS["bob"], name="Bob")
    # Bob's chat is already on the server (the app's data dir is tmp_path/data).
    bob = ChatHistory(tmp_path / "data" / "chats" / "chats.sqlite3", "bob")
    chat = bob.create(BOB_TITLE)
    bob.add_message(chat.id, "user", "When is the merger with Hollowmere announced?")
    return {"RAG_AUTH__CONFIG_FILE": str(users)}


def _open(browser, url: str, requested: list[str]):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(url)
    page.get_by_role("heading", name="Doc Chat").wait_for()
    return page


def _sign_in(page, username: str) -> None:
    page.get_by_role("textbox", name="User name").fill(username)
    page.get_by_role("textbox", name="Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("stChatInputTextArea").wait_for()
    # The cookie component reports the stored cookie back and the server reruns; a question
    # or click sent while that run starts can be lost (see _click_until). Wait it out.
    for _ in range(300):
        if COOKIE_NAME in {cookie["name"] for cookie in page.context.cookies()}:
            break
        page.wait_for_timeout(100)
    page.wait_for_timeout(500)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden")


def _click_until(page, target, outcome) -> None:
    """Click ``target`` until ``outcome`` shows. The sign-in cookie component reports back to
    the server after a page is drawn and the rerun that starts redraws the sidebar: a click
    landing then can be lost (1 of 2 runs), so click once no run is going, and again if
    nothing came of it."""
    for _ in range(3):
        page.get_by_test_id("stStatusWidget").wait_for(state="hidden")
        target.click()
        try:
            outcome.wait_for(timeout=10_000)
            return
        except PlaywrightTimeoutError:
            continue
    outcome.wait_for()


def _open_library(page) -> None:
    _click_until(page, page.get_by_test_id("stSidebar").get_by_text("Library"),
                 page.get_by_role("textbox", name="New collection"))


def _collection_options(page) -> list[str]:
    """The names the Collection list offers; a rerun closes an open list (see _click_until),
    so open it until it stays."""
    combobox = page.get_by_test_id("stSelectbox").filter(has_text="Collection") \
        .get_by_role("combobox")
    options = page.get_by_role("option")
    for _ in range(5):
        page.get_by_test_id("stStatusWidget").wait_for(state="hidden")
        combobox.click()
        if not options.count():
            page.keyboard.press("ArrowDown")
        try:
            options.first.wait_for(timeout=5_000)
        except PlaywrightTimeoutError:
            continue
        names = options.all_inner_texts()
        if names:
            page.keyboard.press("Escape")
            return names
    raise AssertionError("the Collection list never stayed open")


def _sidebar_text(page) -> str:
    return page.get_by_test_id("stSidebar").inner_text()


def test_two_users_see_only_their_own_chats_and_a_visitor_only_the_form(browser, app_url,
                                                                        tmp_path):
    requested: list[str] = []
    alice = _open(browser, app_url, requested)
    alice.get_by_role("textbox", name="Password").wait_for()
    screenshot(alice, "sign_in_form.png")
    assert alice.get_by_test_id("stChatInputTextArea").count() == 0
    assert alice.get_by_role("link", name="Documents").count() == 0
    assert BOB_TITLE not in alice.content()

    _sign_in(alice, "alice")
    box = alice.get_by_test_id("stChatInputTextArea")
    box.fill(ALICE_QUESTION)
    box.press("Enter")
    alice.get_by_test_id("stSidebar").get_by_text(ALICE_QUESTION).wait_for(
        timeout=ANSWER_TIMEOUT_MS)
    assert BOB_TITLE not in _sidebar_text(alice)
    # The admin keeps the server-wide controls.
    assert alice.get_by_role("textbox", name="API key").count() == 1

    bob = _open(browser, app_url, requested)
    _sign_in(bob, "bob")
    bob.get_by_test_id("stSidebar").get_by_text(BOB_TITLE).wait_for()
    screenshot(bob, "signed_in_user.png")
    assert "Quillfeather" not in bob.content()
    for control in ("API key", "Base URL", "Index folder"):
        assert bob.get_by_role("textbox", name=control).count() == 0, control

    # Alice's new collection is private: it is not among the collections Bob can pick.
    _open_library(alice)
    alice.get_by_test_id("stStatusWidget").wait_for(state="hidden")  # no run to drop the click
    alice.get_by_role("textbox", name="New collection").fill(ALICE_COLLECTION)
    alice.get_by_role("button", name="Create collection").click()
    alice.get_by_text("Shared with every signed-in user").wait_for()  # her own is selected
    _open_library(bob)
    options = _collection_options(bob)
    assert "documents" in options
    assert ALICE_COLLECTION not in options
    # The index folder is the server's business: the admin sees it, Bob does not.
    assert str(tmp_path) in _sidebar_text(alice)
    assert str(tmp_path) not in _sidebar_text(bob)

    # The sign-in cookie reached her browser although her question followed the sign-in at
    # once (a run cut short used to drop it), keeps her signed in across a reload; signing out
    # ends that.
    assert COOKIE_NAME in {cookie["name"] for cookie in alice.context.cookies()}
    alice.reload()
    alice.get_by_test_id("stSidebar").get_by_text(ALICE_QUESTION).wait_for()
    assert BOB_TITLE not in alice.content()
    signed_in_cookies = alice.context.cookies()
    _click_until(alice, alice.get_by_role("button", name="Sign out"),
                 alice.get_by_role("textbox", name="Password"))
    # The browser deletes the cookie a moment after signing out; a reload before that (or a
    # copy of the cookie) must not sign her back in: the server refuses a cookie issued
    # before its user's sign-out.
    alice.context.add_cookies(signed_in_cookies)
    alice.reload()
    alice.get_by_role("textbox", name="Password").wait_for()
    assert alice.get_by_test_id("stChatInputTextArea").count() == 0
    assert ALICE_QUESTION not in alice.content()
    # The sign-in form and its cookie component are served by the app's own server.
    app_host = urlsplit(app_url).netloc
    assert requested and {urlsplit(u).netloc for u in requested if u.startswith("http")} \
        == {app_host}
