"""The page never asks a host other than the app's own server for anything (issue 17).

A real `streamlit run app.py` in Debian's Chromium: every request and websocket the page opens
is recorded while it loads, a document whose passage holds a Markdown image link to an outside
address is uploaded and asked about, the reply (from an OpenAI-protocol stand-in on 127.0.0.1,
configured by the server) repeats such a link, a follow-up question and the chat's title carry
one too. Each link must read as text, and no request may leave for another host: not the
image addresses, not fonts.gstatic.com for the icons.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import screenshot, upload_documents
from tests.servers.openai_stub import OpenAIStub, openai_stub

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OUTSIDE = "images.example.net"  # reserved for examples: never a real host, never reached
PASSAGE_IMAGE = f"![tracker](http://{OUTSIDE}/passage.png)"
REPLY_IMAGE = f"![pixel](http://{OUTSIDE}/reply.png)"
QUESTION_IMAGE = f"![q](http://{OUTSIDE}/question.png)"
TITLE_IMAGE = f"![t](http://{OUTSIDE}/title.png)"
DOCUMENT = (
    "# Halvard K7 service notes\n\n"
    f"The Halvard K7 heat pump must be serviced every 19 months {PASSAGE_IMAGE} by a "
    "certified technician.\n\n"
    "Filters are rinsed with clean water every season.\n"
)
REPLY = f"The Halvard K7 heat pump must be serviced every 19 months [1]. {REPLY_IMAGE}"


@pytest.fixture(scope="module")
def stub() -> Iterator[OpenAIStub]:
    with openai_stub(reply=REPLY) as server:
        yield server


@pytest.fixture
def app_extra_env(stub) -> dict[str, str]:
    # The server's own endpoint: configured by the admin, as `make run` with a remote model.
    # Every question reaches it (no refusal step): what is checked is how replies are shown.
    return {"RAG_LLM__BACKEND": "openai", "RAG_LLM__BASE_URL": stub.url,
            "RAG_LLM__MODEL": "stub-model", "RAG_ANSWER__REFUSE": "false"}


def _ask(page, question: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")


def _wait_for_reply(page, number: int) -> None:
    """Reply ``number`` (1-based) is complete when its path badge is shown; the app then
    redraws once."""
    messages = page.get_by_test_id("stChatMessage")
    messages.filter(has_text="Generated and verified").or_(
        messages.filter(has_text="Quoted from the sources")).or_(
        messages.filter(has_text="Declined")).nth(number - 1).wait_for(timeout=180_000)
    page.wait_for_timeout(2500)


def _outside_references(page, origin: str) -> list[str]:
    """Addresses in the page's DOM that the browser would load from anywhere else: images,
    scripts, styles, frames, media, icons (links a user would have to click are not loads)."""
    return page.evaluate(
        """origin => [...document.querySelectorAll(
               'img, script, link, iframe, frame, embed, object, video, audio, source, image')]
             .flatMap(el => [el.src, el.href, el.data, el.currentSrc,
                             el.getAttribute && el.getAttribute('xlink:href')])
             .filter(url => typeof url === 'string' && url && !url.startsWith('data:')
                            && !url.startsWith('blob:') && !url.startsWith(origin))""",
        origin,
    )


def test_no_request_leaves_for_another_host_and_image_links_read_as_text(
    browser, app_url, tmp_path, stub
):
    origin = app_url.rstrip("/")
    app_host = urlsplit(app_url).netloc
    requested: list[str] = []
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    # Recorded for the whole context, from before the first byte of the page.
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.on("websocket", lambda socket: requested.append(socket.url))
    page.set_default_timeout(90_000)
    page.goto(app_url)
    page.get_by_role("heading", name="Doc Chat").wait_for()
    page.wait_for_timeout(3000)  # icons, fonts and the favicon load after the first paint
    favicon = page.evaluate(
        "() => document.querySelector(\"link[rel='shortcut icon']\")?.href ?? ''")
    assert favicon.startswith(("data:", origin)), favicon

    notes = tmp_path / "halvard_notes.md"
    notes.write_text(DOCUMENT, encoding="utf-8")
    upload_documents(page, [notes])
    page.get_by_role("link", name="Chat").click()
    _ask(page, "How often must the Halvard K7 heat pump be serviced?")
    try:
        _wait_for_reply(page, 1)
    finally:
        screenshot(page, "09_outside_links_first_reply.png")
    reply = page.get_by_test_id("stChatMessage").last
    reply.get_by_test_id("stExpander").filter(has_text="halvard").first.locator(
        "summary").click()
    page.wait_for_timeout(1000)
    reply_text = reply.inner_text()

    _ask(page, f"And the filters? {QUESTION_IMAGE}")
    _wait_for_reply(page, 2)
    page.get_by_role("button", name="Manage").click()
    rename = page.get_by_role("textbox", name="Rename")
    rename.fill(f"Service notes {TITLE_IMAGE}")
    rename.press("Enter")
    page.get_by_role("button", name="Save name").click()
    page.get_by_text("Service notes", exact=False).first.wait_for()
    page.wait_for_timeout(2500)
    try:
        main_text = page.locator("body").inner_text()
        sidebar_text = page.get_by_test_id("stSidebar").inner_text()
    finally:
        screenshot(page, "09_outside_links_as_text.png")

    # Each link reads as typed: in the reply, its source's snippet, the question, the title
    # (header and sidebar).
    assert REPLY_IMAGE in reply_text or PASSAGE_IMAGE in reply_text.split("sources")[0]
    assert "[1]" in reply_text
    assert PASSAGE_IMAGE in reply_text.split("sources", 1)[1]  # the snippet, under the reply
    assert QUESTION_IMAGE in main_text
    assert main_text.count("Quoted from the sources") + main_text.count(
        "Generated and verified") + main_text.count("Declined") == 2  # both questions answered
    assert f"Service notes {TITLE_IMAGE}" in main_text
    assert f"Service notes {TITLE_IMAGE}" in sidebar_text
    assert page.locator(f"img[src*='{OUTSIDE}']").count() == 0
    assert _outside_references(page, origin) == []

    # Nothing the page asked for went anywhere but the app's own server.
    assert requested, "no request was recorded"
    elsewhere = sorted({url for url in requested
                        if urlsplit(url).netloc != app_host
                        and not url.startswith(("data:", "blob:"))})
    assert elsewhere == [], elsewhere
    assert any(urlsplit(url).scheme == "ws" for url in requested)  # the app's own socket
    context.close()
