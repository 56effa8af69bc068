"""Turning remote-backend failures into one BackendError with a clear reason and no secret.

Both remote backends (OpenAI protocol and Hugging Face endpoints) raise httpx / openai
exceptions whose text is written for developers; the user needs "the API key was rejected"
or "connection refused". API keys are scrubbed from every message we build.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import openai

from rag.errors import BackendError

_STATUS_TEXT = {
    400: "400 Bad Request: the server refused the request",
    401: "401 Unauthorized: the API key was rejected",
    403: "403 Forbidden: the API key may not use this model or endpoint",
    404: "404 Not Found: no such model or route",
    408: "408 Request Timeout: the server gave up waiting",
    413: "413 Payload Too Large: the prompt is too long for the server",
    422: "422 Unprocessable Entity: the server refused a request parameter",
    429: "429 Too Many Requests: rate limited",
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Unavailable: the model is loading or overloaded",
    504: "504 Gateway Timeout",
}


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret (API key) replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def describe_status(
    status: int, url: str, server_message: str = "", retry_after: str | None = None
) -> str:
    """One line for an HTTP error status from ``url``."""
    text = _STATUS_TEXT.get(status, f"HTTP {status} error")
    text = f"{text} ({url})"
    if retry_after:
        text += f"; retry after {retry_after}s"
    if server_message and status not in (401, 403):
        text += f": {server_message[:300]}"
    return text


def _cause_chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is(exc: BaseException, *names: str) -> bool:
    """Class-name test: openai ships its own httpx fork (httpx2), so isinstance would miss."""
    return any(cls.__name__ in names for cls in type(exc).__mro__)


def _connect_reason(exc: BaseException) -> str:
    for cause in _cause_chain(exc):
        text = str(cause)
        if "refused" in text.lower():
            return "connection refused"
        if "name or service not known" in text.lower() or "nodename nor servname" in text:
            return "unknown host"
    return str(exc) or type(exc).__name__


def _server_message(response: Any) -> str:
    if response is None:
        return ""
    try:
        body: Any = response.json()
    except Exception:  # unread or non-JSON body (httpx or httpx2 errors): no server message
        return ""
    if isinstance(body, dict):
        error = body.get("error", body.get("detail", ""))
        if isinstance(error, dict):
            error = error.get("message", "")
        return str(error)
    return ""


def describe_error(exc: BaseException, url: str, timeout: float) -> str:
    """A user-facing reason for a failed call to ``url`` (secrets not yet scrubbed)."""
    if isinstance(exc, openai.APIStatusError):
        return describe_status(
            exc.status_code,
            url,
            _server_message(exc.response),
            exc.response.headers.get("retry-after"),
        )
    if _is(exc, "HTTPStatusError"):
        response: Any = exc.response  # type: ignore[attr-defined]
        return describe_status(
            response.status_code,
            url,
            _server_message(response),
            response.headers.get("retry-after"),
        )
    causes = list(_cause_chain(exc))
    if isinstance(exc, openai.APITimeoutError) or any(
        _is(c, "TimeoutException", "TimeoutError") for c in causes
    ):
        return f"timed out after {timeout:g}s waiting for {url}"
    if any(_is(c, "RemoteProtocolError", "ReadError") for c in causes):
        return f"the stream from {url} was cut before the reply was complete"
    if isinstance(exc, openai.APIConnectionError) or any(_is(c, "ConnectError") for c in causes):
        return f"cannot connect to {url}: {_connect_reason(exc)}"
    return f"{type(exc).__name__}: {exc}"


@contextmanager
def wrap_backend_errors(
    backend: str, url: str, *, timeout: float, secrets: Iterable[str | None] = ()
) -> Iterator[None]:
    """Re-raise any failure inside the block as BackendError("<backend>: <reason>")."""
    keys = list(secrets)
    try:
        yield
    except BackendError as exc:
        clean = redact(str(exc), keys)
        if clean == str(exc):
            raise
        raise BackendError(clean) from exc
    except Exception as exc:
        reason = redact(describe_error(exc, url, timeout), keys)
        raise BackendError(f"{backend} backend: {reason}") from exc


def stream_cut(url: str) -> BackendError:
    return BackendError(f"the stream from {url} was cut before the reply was complete")


def has_finish_reason(chunk: Any) -> bool:
    """Whether a ChatGenerationChunk closes the reply (servers send it in the last chunk)."""
    info = getattr(chunk, "generation_info", None) or {}
    meta = getattr(getattr(chunk, "message", None), "response_metadata", None) or {}
    return bool(info.get("finish_reason") or meta.get("finish_reason"))


def finished_stream(chunks: Iterable[Any], url: str) -> Iterator[Any]:
    """Pass chunks through; a stream that ends without a finish reason was cut."""
    finished = False
    for chunk in chunks:
        finished = finished or has_finish_reason(chunk)
        yield chunk
    if not finished:
        raise stream_cut(url)
