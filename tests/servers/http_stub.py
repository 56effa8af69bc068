"""Plumbing shared by the protocol stand-ins: a real threaded HTTP/1.1 server on 127.0.0.1.

A stub records every request (method, path, headers, JSON body) and plays a *scenario* chosen
by the test: a normal reply, or a failure mode (401, 429, stall, stream cut mid-way).
Streams use chunked transfer encoding so that a cut (socket closed before the last chunk) is
a protocol error for the client, exactly as when a real server dies mid-reply.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Looks like a real key; tests assert it never shows up in an error, a repr or a log.
TEST_API_KEY = "sk-test-7f3a9c1e5b2d4680aa11"
# "stream_error" is TGI's way of failing after the stream has started (an error event).
SCENARIOS = ("ok", "unauthorized", "rate_limit", "stall", "cut", "stream_error")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: Any


@dataclass
class StubState:
    scenario: str = "ok"
    reply: str = "Paris is the capital of France [1]."
    model: str = "stub-model"
    api_key: str | None = None  # when set, any other bearer token gets a 401
    retry_after: int = 1
    stall_seconds: float = 10.0
    requests: list[RecordedRequest] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)


class StubHandler(BaseHTTPRequestHandler):
    """Subclasses implement ``route(method, path, body)`` using the helpers below."""

    protocol_version = "HTTP/1.1"
    state: StubState  # set on the per-server subclass

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _record(self, method: str) -> Any:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.state.requests.append(RecordedRequest(method, self.path, headers, body))
        return body

    def do_GET(self) -> None:
        self.route("GET", self.path, self._record("GET"))

    def do_POST(self) -> None:
        self.route("POST", self.path, self._record("POST"))

    def route(self, method: str, path: str, body: Any) -> None:
        raise NotImplementedError

    # -- helpers for the protocol subclasses ------------------------------------------------
    def bearer_ok(self) -> bool:
        expected = self.state.api_key
        return expected is None or self.headers.get("authorization") == f"Bearer {expected}"

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def stall(self) -> None:
        """Hold the request without answering (until the test ends or stall_seconds pass)."""
        self.state.released.wait(self.state.stall_seconds)
        self.close_connection = True

    def start_events(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def send_event(self, payload: Any) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        data = f"data: {text}\n\n".encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def end_events(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def cut(self) -> None:
        """Drop the connection mid-stream: no [DONE], no terminating chunk."""
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True


def reply_pieces(reply: str) -> list[str]:
    """The reply split into word pieces, as a server streams tokens."""
    words = reply.split(" ")
    return [w if i == 0 else f" {w}" for i, w in enumerate(words)]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A cut or stalled connection ends with a broken pipe on our side: that is the point.
        pass


class StubServer:
    """Run a handler class on a free port in a daemon thread; use as a context manager."""

    def __init__(self, handler: type[StubHandler], **state: Any) -> None:
        self.state = StubState(**state)
        bound = type(f"Bound{handler.__name__}", (handler,), {"state": self.state})
        self._server = _QuietServer(("127.0.0.1", 0), bound)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.state.requests

    def play(self, scenario: str) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; known: {SCENARIOS}")
        self.state.scenario = scenario

    def start(self) -> StubServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.state.released.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
