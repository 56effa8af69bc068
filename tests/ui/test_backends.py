"""The sidebar's model fields, driven by AppTest against real HTTP servers on 127.0.0.1: a
visitor cannot send the server's key to a URL of their own, nor reach a URL off the admin's
allow-list (issue 17, finding 2)."""

from __future__ import annotations

import html
import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.servers.openai_stub import OpenAIStub
from tests.ui.conftest import APP

SERVER_KEY = "sk-server-side-9d1f3b7a2c6e"


@pytest.fixture
def openai_server_env(app_env, configured, other, monkeypatch):
    """The app configured for the `configured` stub with a server-side key; `other` allowed."""
    monkeypatch.setenv("RAG_LLM__BACKEND", "openai")
    monkeypatch.setenv("RAG_LLM__MODEL", "stub-model")
    monkeypatch.setenv("RAG_LLM__BASE_URL", configured.url)
    monkeypatch.setenv("RAG_LLM__API_KEY", SERVER_KEY)
    monkeypatch.setenv("RAG_LLM__ALLOWED_ENDPOINTS", json.dumps([other.url]))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def press_test_connection(at: AppTest, url: str) -> AppTest:
    at.text_input(key="base_url-openai").input(url).run()
    at.button(key="test_connection").click()
    return at.run(timeout=60)


def test_the_server_key_is_not_sent_to_a_url_the_visitor_typed(openai_server_env, configured,
                                                              other):
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert at.selectbox(key="backend").value == "openai"
    press_test_connection(at, other.url)
    assert not at.exception, [e.value for e in at.exception]
    assert any("connected to" in s.value for s in at.success), [e.value for e in at.error]
    seen = json.dumps([r.headers for r in other.requests])
    assert other.requests and SERVER_KEY not in seen
    assert not configured.requests

    # The configured endpoint, typed by the visitor, still gets the server's key.
    press_test_connection(at, configured.url)
    assert any("connected to" in s.value for s in at.success), [e.value for e in at.error]
    assert configured.requests
    assert all(r.headers.get("authorization") == f"Bearer {SERVER_KEY}"
               for r in configured.requests)


def test_a_url_off_the_allow_list_is_refused_on_the_page_without_a_request(
    openai_server_env, configured, other
):
    at = AppTest.from_file(APP, default_timeout=120).run()
    with OpenAIStub() as unlisted:
        press_test_connection(at, unlisted.url)
        assert not at.exception, [e.value for e in at.exception]
        errors = [html.unescape(e.value) for e in at.error]  # as shown on the page
        assert any("not allowed" in e and "RAG_LLM__ALLOWED_ENDPOINTS" in e for e in errors)
        assert not at.success
        assert not unlisted.requests and not configured.requests and not other.requests


def test_switching_to_a_remote_backend_on_a_local_server_asks_for_an_allowed_url(app_env):
    # Configured for the local model, nothing remote allowed: api.openai.com included.
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.selectbox(key="backend").select("openai").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("base URL this server allows" in c.value for c in at.caption)
    at.button(key="test_connection").click().run()
    errors = [html.unescape(e.value) for e in at.error]  # shown escaped
    assert any("api.openai.com" in e and "not allowed" in e for e in errors), errors
