"""ui/chat.py driven by AppTest: the question length limit of the chat box."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.ui.conftest import APP


def test_the_chat_box_takes_no_more_than_the_question_limit(app_env, monkeypatch):
    monkeypatch.setenv("RAG_ANSWER__MAX_QUESTION_CHARS", "40")
    at = AppTest.from_file(APP, default_timeout=120).run()
    box = at.chat_input(key="chat_input")
    assert box.proto.max_chars == 40  # the browser stops typing there
    # Streamlit also cuts a longer value sent past the browser's limit before the page sees
    # it (AppTest sends it as such a client would); the page's own check then passes it.
    box.set_value("Which colour does the Skerry lighthouse lamp shine at night?").run()
    assert not at.exception, [e.value for e in at.exception]
    asked = [m.markdown[0].value for m in at.chat_message if m.name == "user"]
    assert asked == ["Which colour does the Skerry lighthouse"]
