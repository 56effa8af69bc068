"""Server-side keys go only to the server-configured endpoint (issue 17, finding 2).

Checked at real HTTP servers on 127.0.0.1 that record every request's headers: a key planted in
the server's settings or in OPENAI_API_KEY never reaches an endpoint a user typed, the
configured endpoint still gets it, and a URL outside the allow-list is refused before any
request is made.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from rag.endpoints import (
    check_user_endpoint,
    parse_endpoint,
    same_endpoint,
    user_llm_settings,
)
from rag.errors import ConfigError
from rag.llm import check_connection, get_chat_model
from rag.llm.openai import api_key_of
from rag.settings import LLMSettings, Settings, get_settings
from tests.servers.http_stub import StubServer
from tests.servers.tgi_stub import TGIStub

SERVER_KEY = "sk-server-side-5c2e8a91d7f04b36"
USER_KEY = "sk-typed-by-user-0b7d44e1c9"


def server_settings(backend: str, url: str | None, key: str | None = SERVER_KEY,
                    allowed: list[str] | None = None) -> Settings:
    return Settings(llm=LLMSettings(
        backend=backend, model="stub-model", base_url=url,
        api_key=SecretStr(key) if key else None, allowed_endpoints=allowed or [],
        max_retries=0, timeout_s=10,
    ))


def session(server: Settings, backend: str, url: str | None, key: str | None = None) -> Settings:
    """What the sidebar hands on: the server's settings with the user's choices applied."""
    llm = user_llm_settings(server, backend=backend, model="stub-model", base_url=url,
                            user_key=SecretStr(key) if key else None)
    return server.model_copy(update={"llm": llm})


def headers_seen(stub: StubServer) -> str:
    assert stub.requests, "the stub was never reached"
    return json.dumps([r.headers for r in stub.requests])


def chat_once(settings: Settings) -> str:
    return str(get_chat_model(settings).invoke("Hello?").content)


# -- URLs -----------------------------------------------------------------------------------
def test_endpoints_compare_by_normalised_scheme_host_port_and_path():
    assert same_endpoint("HTTP://Example.COM:80/v1/", "http://example.com/v1")
    assert same_endpoint("https://api.openai.com/v1", "https://API.openai.com:443/v1/")
    assert not same_endpoint("http://example.com/v1", "https://example.com/v1")
    assert not same_endpoint("http://example.com:8080/v1", "http://example.com/v1")
    assert not same_endpoint("http://example.com/v1", "http://example.com/v2")
    entry = parse_endpoint("http://10.0.0.5:8080/v1")
    assert entry.covers(parse_endpoint("http://10.0.0.5:8080/v1/deployments/a"))
    assert not entry.covers(parse_endpoint("http://10.0.0.5:8080/v10"))
    assert not entry.covers(parse_endpoint("http://10.0.0.5:8081/v1"))


@pytest.mark.parametrize("url", [
    "ftp://example.com/v1", "file:///etc/passwd", "example.com/v1", "http://",
    "http://user:secret@127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1?x=1",
    "http://127.0.0.1:99999/v1",
])
def test_malformed_or_disguised_urls_are_refused(url):
    with pytest.raises(ConfigError):
        parse_endpoint(url)


# -- allow-list ----------------------------------------------------------------------------
def test_a_bad_allow_list_entry_is_named(configured):
    server = server_settings("openai", configured.url, allowed=["10.0.0.5:8080/v1"])
    with pytest.raises(ConfigError, match="allowed_endpoints has an entry to fix"):
        check_user_endpoint(server, "openai", "http://10.0.0.5:8080/v1")


def test_a_url_off_the_allow_list_is_refused_before_any_request(configured, other):
    server = server_settings("openai", configured.url)
    with pytest.raises(ConfigError, match="not allowed") as refused:
        session(server, "openai", other.url)
    assert "RAG_LLM__ALLOWED_ENDPOINTS" in str(refused.value)
    # Internal addresses (cloud metadata, the Chroma port) are refused the same way.
    for url in ("http://169.254.169.254/latest/meta-data", "http://127.0.0.1:8000/api/v2"):
        with pytest.raises(ConfigError, match="not allowed"):
            check_user_endpoint(server, "openai", url)
    assert not other.requests and not configured.requests


def test_a_server_set_up_for_the_local_model_allows_no_remote_endpoint(other):
    server = server_settings("local", None, key=None)
    for url in (None, other.url):  # None: the OpenAI default, api.openai.com
        with pytest.raises(ConfigError, match="not allowed"):
            session(server, "openai", url)
    assert not other.requests


def test_star_allows_any_endpoint_but_still_without_the_server_key(configured, other):
    server = server_settings("openai", configured.url, allowed=["*"])
    check_connection(session(server, "openai", other.url))
    assert SERVER_KEY not in headers_seen(other)


# -- the key at real servers ------------------------------------------------------------------
def test_server_key_never_reaches_a_user_entered_openai_url(configured, other):
    server = server_settings("openai", configured.url, allowed=[other.url])
    settings = session(server, "openai", other.url)
    assert settings.llm.api_key is None
    check_connection(settings)
    assert "Paris" in chat_once(settings)
    seen = headers_seen(other)
    assert SERVER_KEY not in seen
    assert all(r.headers.get("authorization") == "Bearer EMPTY" for r in other.requests)
    assert not configured.requests


def test_a_user_entered_url_gets_only_the_user_key(configured, other):
    server = server_settings("openai", configured.url, allowed=[other.url])
    settings = session(server, "openai", other.url + "/", key=USER_KEY)
    check_connection(settings)
    assert "Paris" in chat_once(settings)
    seen = headers_seen(other)
    assert SERVER_KEY not in seen
    assert all(r.headers.get("authorization") == f"Bearer {USER_KEY}" for r in other.requests)


def test_the_configured_url_still_gets_the_server_key(configured):
    server = server_settings("openai", configured.url)
    # Typed with another spelling of the same endpoint: still the configured one.
    typed = configured.url.replace("http://", "HTTP://") + "/"
    settings = session(server, "openai", typed)
    check_connection(settings)
    assert "Paris" in chat_once(settings)
    assert all(r.headers.get("authorization") == f"Bearer {SERVER_KEY}"
               for r in configured.requests)


def test_openai_api_key_from_the_environment_goes_to_the_configured_url_only(
    configured, other, monkeypatch
):
    monkeypatch.setenv("OPENAI_API_KEY", SERVER_KEY)
    monkeypatch.delenv("RAG_LLM__API_KEY", raising=False)
    monkeypatch.setenv("RAG_LLM__BACKEND", "openai")
    monkeypatch.setenv("RAG_LLM__MODEL", "stub-model")
    monkeypatch.setenv("RAG_LLM__BASE_URL", configured.url)
    monkeypatch.setenv("RAG_LLM__ALLOWED_ENDPOINTS", json.dumps([other.url]))
    get_settings.cache_clear()
    try:
        server = get_settings()
        assert server.llm.api_key is None  # the key is only in OPENAI_API_KEY
        # Through the sidebar's path, and straight to the backend with no key at all: the
        # environment key is looked up for the configured endpoint only.
        to_other = session(server, "openai", other.url)
        bare = server.model_copy(update={"llm": server.llm.model_copy(
            update={"base_url": other.url})})
        assert api_key_of(bare) is None
        for settings in (to_other, bare):
            check_connection(settings)
            chat_once(settings)
        assert SERVER_KEY not in headers_seen(other)
        check_connection(session(server, "openai", configured.url))
        assert all(r.headers.get("authorization") == f"Bearer {SERVER_KEY}"
                   for r in configured.requests)
    finally:
        get_settings.cache_clear()


def test_the_key_belongs_to_its_backend_as_well_as_its_url(configured):
    # The openai server's URL picked with the huggingface backend is another endpoint.
    server = server_settings("openai", configured.url, allowed=[configured.url])
    settings = session(server, "huggingface", configured.url)
    assert settings.llm.api_key is None


@pytest.fixture
def tgi_configured() -> Iterator[TGIStub]:
    with TGIStub() as server:
        yield server


@pytest.fixture
def tgi_other() -> Iterator[TGIStub]:
    with TGIStub() as server:
        yield server


def test_server_key_never_reaches_a_user_entered_huggingface_url(tgi_configured, tgi_other):
    server = server_settings("huggingface", tgi_configured.url, allowed=[tgi_other.root])
    settings = session(server, "huggingface", tgi_other.url)
    check_connection(settings)
    chat_once(settings)
    assert SERVER_KEY not in headers_seen(tgi_other)
    assert all("authorization" not in r.headers for r in tgi_other.requests)

    check_connection(session(server, "huggingface", tgi_configured.url))
    assert all(r.headers.get("authorization") == f"Bearer {SERVER_KEY}"
               for r in tgi_configured.requests)
