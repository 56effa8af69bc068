"""The Streamlit app driven by AppTest: real index, real presets, real local model (slow ones)."""

from __future__ import annotations

import html
import json

import pytest
from streamlit.testing.v1 import AppTest

from rag.answer.grounding import NOT_IN_DOCUMENTS
from rag.llm import BACKENDS
from rag.llm.presets import list_prompt_presets, load_decoding_preset, load_prompt_preset
from tests.servers.processes import free_port
from tests.ui.conftest import APP

PLANTED_KEY = "sk-planted-4f9c2e7d1b"
LLM_TIMEOUT = 600  # first question loads (and maybe converts) the local model on 2 CPU cores


def start(timeout: float = 120) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=timeout)
    return at.run()


def all_text(at: AppTest) -> str:
    """Every piece of text on the page (values and labels), to grep for leaks."""
    parts: list[str] = []
    for node in at._tree:  # walks every element and block, sidebar included
        for attr in ("value", "label", "body", "placeholder", "help"):
            value = getattr(node, attr, None)
            if isinstance(value, str):
                parts.append(value)
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
    text = "\n".join(parts)
    return text + "\n" + html.unescape(text)  # the app writes others' text as references


def ask(at: AppTest, question: str, timeout: float = LLM_TIMEOUT) -> AppTest:
    at.chat_input(key="chat_input").set_value(question)
    return at.run(timeout=timeout)


def assistant_text(at: AppTest) -> str:
    """The last reply's text (its first Markdown element; sources and badges come after), as
    shown: the app writes it with character references (ui.untrusted)."""
    message = [m for m in at.chat_message if m.name == "assistant"][-1]
    return html.unescape(message.markdown[0].value)


def test_first_paint_has_title_sidebar_and_registry_backends(app_env):
    at = start()
    assert not at.exception
    assert "Doc Chat" in at.title[0].value
    backend = at.selectbox(key="backend")
    assert len(backend.options) == len(BACKENDS)  # options are labels; one per registry key
    assert backend.value == "local"
    for name in BACKENDS:
        backend.select(name)  # raises when a registry key is not offered
    assert at.selectbox(key="prompt_preset").options == list_prompt_presets()
    assert at.chat_input(key="chat_input") is not None


def test_switching_backend_enables_remote_fields_and_keeps_key_masked(app_env):
    at = start()
    assert at.text_input(key="base_url-local").disabled
    at.selectbox(key="backend").select("openai").run()
    assert not at.exception
    url = at.text_input(key="base_url-openai")
    key = at.text_input(key="api_key-openai")
    assert not url.disabled and not key.disabled
    assert key.proto.type == key.proto.PASSWORD


def test_switching_prompt_and_decoding_preset_updates_text_and_sliders(app_env):
    at = start()
    at.selectbox(key="prompt_preset").select("few_shot").run()
    preset = load_prompt_preset("few_shot")
    assert any(preset.system[:40] in c.value for c in at.code)
    decoding_box = next(s for s in at.selectbox if s.label == "Decoding preset")
    decoding_box.select("top_k").run()
    top_k = load_decoding_preset("top_k")
    sliders = {s.label: s for s in at.slider}
    assert sliders["Temperature"].value == pytest.approx(top_k.temperature)
    assert sliders["Top-k"].value == top_k.top_k
    assert not sliders["Top-k"].disabled  # sampling is on, and the local backend honours top-k


def test_reply_control_says_when_replies_quote_instead_of_the_model(app_env):
    quoting = "Replies quote the documents"

    def captions(at: AppTest) -> str:
        return "\n".join(c.value for c in at.caption)

    at = start()
    reply = at.button_group(key="answer_reply")
    assert reply.value == "auto"
    assert quoting in captions(at)  # auto, with the small local model
    reply.set_value("generate").run()
    assert not at.exception and quoting not in captions(at)
    at.button_group(key="answer_reply").set_value("auto").run()
    at.selectbox(key="backend").select("openai").run()
    assert quoting not in captions(at)  # auto lets a remote model write
    at.button_group(key="answer_reply").set_value("quote").run()
    assert quoting in captions(at)


def test_controls_the_backend_cannot_honour_are_disabled_with_the_reason(app_env):
    from rag.llm import backend_capabilities

    at = start()
    at.selectbox(key="backend").select("openai").run()
    decoding_box = next(s for s in at.selectbox if s.label == "Decoding preset")
    decoding_box.select("top_k").run()
    caps = backend_capabilities("openai")
    sliders = {s.label: s for s in at.slider}
    assert sliders["Top-k"].disabled, caps
    assert "Not supported" in sliders["Top-k"].help


@pytest.mark.slow
def test_unreachable_openai_server_shows_a_clear_error_without_the_key(
    app_env, ingested, monkeypatch
):
    url = f"http://127.0.0.1:{free_port()}/v1"
    monkeypatch.setenv("RAG_LLM__ALLOWED_ENDPOINTS", json.dumps([url]))  # users may type it
    at = start()
    at.selectbox(key="backend").select("openai").run()
    at.text_input(key="model-openai").input("gpt-test")
    at.text_input(key="base_url-openai").input(url)
    at.text_input(key="api_key-openai").input(PLANTED_KEY).run()
    at.button(key="test_connection").click().run(timeout=120)
    assert at.error, "the connection test must report the failure"
    ask(at, "How often must the Zephyr-9 coffee machine be descaled?", timeout=300)
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert errors, "an unreachable backend must be reported on the page"
    assert any("openai" in e.lower() or "connect" in e.lower() for e in errors), errors
    page = "\n".join(errors) + all_text(at).replace(at.text_input(key="api_key-openai").value, "")
    assert PLANTED_KEY not in page
    assert "Traceback" not in page


@pytest.mark.slow
def test_unrelated_question_gets_the_not_in_documents_reply(app_env, ingested):
    at = start()
    ask(at, "What is the boiling point of liquid nitrogen on Jupiter's moons?")
    assert not at.exception, [e.value for e in at.exception]
    # The refusal may name the question's most specific word no passage found holds.
    assert NOT_IN_DOCUMENTS[:-1] in assistant_text(at)
    assert any("declined" in md.value.lower() for md in at.markdown)


@pytest.mark.slow
def test_chat_turn_with_the_local_model_is_answered_cited_and_persisted(app_env, ingested):
    at = start()
    # Worded so the 135M model's greedy reply is kept or quoted; the other wording makes it
    # ramble into "does not have", which the grounding check rightly treats as a refusal.
    ask(at, "How many days between descaling the Zephyr-9?")
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    reply = assistant_text(at)
    assert "42" in reply
    labels = [e.label for e in at.expander]
    assert any("zephyr" in label.lower() for label in labels), labels
    path_badges = [md.value for md in at.markdown if "badge[" in md.value]
    assert path_badges and any(
        word in path_badges[-1].lower() for word in ("verified", "quoted")
    ), path_badges

    # A new session (as after a refresh or restart) reopens the chat from the history store.
    again = start()
    users = [m for m in again.chat_message if m.name == "user"]
    assert any("descaling" in md.value for m in users for md in m.markdown)
    assert "42" in assistant_text(again)
    assert again.get("download_button")  # export as Markdown is offered


def test_script_in_a_document_snippet_is_shown_as_text_not_html():
    def page() -> None:
        from rag.answer.reply import Source
        from ui.sources import render_sources

        snippet = "Log. <script>window.__pwned = 1</script> The lamp is lit at dusk."
        start = snippet.index("The lamp")
        render_sources(
            [Source(1, "d1", "hostile.txt", "hostile.txt", "text", "", 0.9, snippet,
                    ((start, len(snippet)),), "d1:x:0")],
            cited=(1,),
        )

    at = AppTest.from_function(page).run()
    assert not at.exception
    html_bodies = [md.value for md in at.markdown if "rag-snippet" in md.value]
    assert len(html_bodies) == 1
    body = html_bodies[0]
    assert "<script" not in body and "</script" not in body
    assert "&#60;script&#62;window." in body and "&#60;/script&#62;" in body
    assert "<mark" in body and "The lamp is lit at dusk.</mark>" in body
