"""Which remote endpoints a user may pick, and which of them may get the server's key.

The server's own key (``llm.api_key`` or ``OPENAI_API_KEY``) belongs to the endpoint the server
is configured for: it is never sent anywhere else. A visitor of the app may type another base
URL only when the admin lists it in ``llm.allowed_endpoints``; that endpoint gets the key the
visitor typed, or none. A URL outside the list is refused before any request, which also keeps
visitors from probing internal addresses through the server.

Endpoints are compared by their normalised scheme, host, port and path (``HTTP://Host:80/v1/``
is ``http://host/v1``). Pure functions, no I/O: cheap to call on every sidebar run.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

from rag.errors import ConfigError
from rag.settings import LLMSettings, Settings

OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
# llm.allowed_endpoints entry that lets users enter any http(s) endpoint (a single-user machine).
ANY_ENDPOINT = "*"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Endpoint:
    """A base URL reduced to what identifies the server and route it reaches."""

    scheme: str
    host: str
    port: int
    path: str  # without trailing slash; "" for the root

    def __str__(self) -> str:
        port = "" if _DEFAULT_PORTS[self.scheme] == self.port else f":{self.port}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}{port}{self.path}"

    def covers(self, other: Endpoint) -> bool:
        """Same server, and ``other``'s path is this path or below it (whole segments)."""
        if (self.scheme, self.host, self.port) != (other.scheme, other.host, other.port):
            return False
        return other.path == self.path or other.path.startswith(self.path + "/")


def parse_endpoint(url: str) -> Endpoint:
    """``url`` normalised; ConfigError for anything but a plain http(s) base URL."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"invalid endpoint URL {text!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ConfigError(
            f"invalid endpoint URL {text!r}: use http:// or https:// with a host name"
        )
    # user:password@host puts a credential in the URL and can disguise the real host.
    if parts.username is not None or parts.password is not None:
        raise ConfigError("an endpoint URL must not contain a user name or password")
    if parts.query or parts.fragment:
        raise ConfigError(f"an endpoint URL has no query or fragment: {text!r}")
    return Endpoint(
        scheme=scheme,
        host=parts.hostname.lower().rstrip("."),
        port=port if port is not None else _DEFAULT_PORTS[scheme],
        path=parts.path.rstrip("/"),
    )


def is_loopback(host: str) -> bool:
    """True for this machine's own addresses (a token sent there never crosses a network)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def same_endpoint(a: str, b: str) -> bool:
    return parse_endpoint(a) == parse_endpoint(b)


def default_endpoint(backend: str) -> str | None:
    """Where a backend's requests go when no base URL is given (None: it needs one)."""
    return OPENAI_DEFAULT_URL if backend == "openai" else None


def configured_endpoint(server: Settings, backend: str) -> str | None:
    """The endpoint the server's settings name for ``backend``; None for another backend.

    A server configured for the local model has no configured remote endpoint at all: its
    documents go nowhere the admin has not listed, api.openai.com included.
    """
    llm = server.llm
    if llm.backend != backend:
        return None
    return llm.base_url or default_endpoint(backend)


def is_configured_endpoint(server: Settings, backend: str, url: str) -> bool:
    configured = configured_endpoint(server, backend)
    return configured is not None and same_endpoint(configured, url)


def server_key(server: Settings, backend: str, url: str) -> SecretStr | None:
    """The server's key for ``backend`` when ``url`` is its configured endpoint, else None.

    The key is ``llm.api_key``; for openai, ``OPENAI_API_KEY`` when that is unset (the
    environment variable the OpenAI tools use).
    """
    if not is_configured_endpoint(server, backend, url):
        return None
    if server.llm.api_key is not None:
        return server.llm.api_key
    if backend == "openai":
        env_key = os.environ.get("OPENAI_API_KEY")
        return SecretStr(env_key) if env_key else None
    return None


def check_user_endpoint(server: Settings, backend: str, url: str) -> None:
    """ConfigError unless a user may send requests to ``url`` for ``backend``."""
    target = parse_endpoint(url)
    if is_configured_endpoint(server, backend, url):
        return
    allowed = server.llm.allowed_endpoints
    if ANY_ENDPOINT in allowed:
        return
    if any(_allow_list_entry(entry).covers(target) for entry in allowed):
        return
    listed = ", ".join(allowed) if allowed else "none"
    raise ConfigError(
        f"the endpoint {target} is not allowed on this server (allowed besides the "
        f"configured one: {listed}); an admin can add it to llm.allowed_endpoints "
        "(RAG_LLM__ALLOWED_ENDPOINTS)"
    )


def _allow_list_entry(entry: str) -> Endpoint:
    try:
        return parse_endpoint(entry)
    except ConfigError as exc:
        raise ConfigError(f"llm.allowed_endpoints has an entry to fix: {exc}") from exc


def user_llm_settings(
    server: Settings,
    *,
    backend: str,
    model: str,
    base_url: str | None,
    user_key: SecretStr | None,
) -> LLMSettings:
    """``server.llm`` with a user's choice of backend, model, endpoint and key applied.

    The user's endpoint is checked first (ConfigError, before any request). The user's key is
    used when given; otherwise the server's key, only if the endpoint is the configured one.
    """
    llm = server.llm
    if backend == "local":
        return llm.model_copy(
            update={"backend": backend, "model": model, "base_url": None, "api_key": None}
        )
    url = base_url.strip() if base_url and base_url.strip() else None
    target = url or default_endpoint(backend)
    key = user_key if user_key is not None and user_key.get_secret_value() else None
    if target is not None:
        check_user_endpoint(server, backend, target)
        if key is None:
            key = server_key(server, backend, target)
    return llm.model_copy(
        update={"backend": backend, "model": model, "base_url": url, "api_key": key}
    )
