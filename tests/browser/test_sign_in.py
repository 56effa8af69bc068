"""Sign-in in a real browser (issue 17): a real `streamlit run app.py` with a users file, two
Chromium contexts (two people, separate cookies). A visitor who has not signed in sees only the
form; Alice's question becomes her chat, which Bob never sees, and Bob's chat never reaches
Alice; Bob, not an admin, gets no server-wide controls.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from rag.auth import add_user
from rag.history import ChatHistory
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORDS = {"alice": "Alice-pass-771", "bob": "Bob-pass-4402"}
ALICE_QUESTION = "When does the Quillfeather launch happen?"
BOB_TITLE = "Bob merger plan"
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


def _sidebar_text(page) -> str:
    return page.get_by_test_id("stSidebar").inner_text()


def test_two_users_see_only_their_own_chats_and_a_visitor_only_the_form(browser, app_url):
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

    # The sign-in cookie keeps Alice signed in across a reload; signing out ends that.
    alice.reload()
    alice.get_by_test_id("stSidebar").get_by_text(ALICE_QUESTION).wait_for()
    assert BOB_TITLE not in alice.content()
    alice.get_by_role("button", name="Sign out").click()
    alice.get_by_role("textbox", name="Password").wait_for()
    alice.reload()
    alice.get_by_role("textbox", name="Password").wait_for()
    assert alice.get_by_test_id("stChatInputTextArea").count() == 0
    assert ALICE_QUESTION not in alice.content()
    # The sign-in form and its cookie component are served by the app's own server.
    app_host = urlsplit(app_url).netloc
    assert requested and {urlsplit(u).netloc for u in requested if u.startswith("http")} \
        == {app_host}
