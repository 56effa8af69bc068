"""A stand-in for an OpenAI-protocol server (what api.openai.com, vLLM or transformers serve
speak): ``GET /v1/models`` and ``POST /v1/chat/completions`` with or without SSE streaming.

    with openai_stub(api_key="sk-test") as server:
        base_url = server.url          # http://127.0.0.1:PORT/v1
        server.play("rate_limit")      # next requests get 429 with retry-after
        server.requests[-1].body       # the JSON the client sent

Errors use OpenAI's shapes: ``{"error": {"message", "type", "code"}}``. The 401 message echoes
the presented key, as OpenAI's does (partly masked there): our error text must not repeat it.
"""

from __future__ import annotations

import time
from typing import Any

from tests.servers.http_stub import StubHandler, StubServer, reply_pieces


class OpenAIHandler(StubHandler):
    def route(self, method: str, path: str, body: Any) -> None:
        state = self.state
        if state.scenario == "stall":
            self.stall()
            return
        if state.scenario == "unauthorized" or not self.bearer_ok():
            presented = (self.headers.get("authorization") or "").removeprefix("Bearer ")
            self.send_json(401, _error(f"Incorrect API key provided: {presented}.",
                                       "invalid_request_error", "invalid_api_key"))
            return
        if state.scenario == "rate_limit":
            self.send_json(
                429,
                _error("Rate limit reached for requests", "requests", "rate_limit_exceeded"),
                {"retry-after": str(state.retry_after)},
            )
            return
        if method == "GET" and path.rstrip("/") == "/v1/models":
            self.send_json(200, {"object": "list", "data": [
                {"id": state.model, "object": "model", "created": 0, "owned_by": "stub"}]})
        elif method == "POST" and path == "/v1/chat/completions":
            self._chat(body or {})
        else:
            self.send_json(404, _error(f"Unknown route {method} {path}", "invalid_request_error",
                                       "unknown_url"))

    def _chat(self, body: dict[str, Any]) -> None:
        model = body.get("model", self.state.model)
        created = int(time.time())
        if not body.get("stream"):
            self.send_json(200, {
                "id": "chatcmpl-stub", "object": "chat.completion", "created": created,
                "model": model,
                "choices": [{"index": 0, "finish_reason": "stop", "message": {
                    "role": "assistant", "content": self.state.reply}}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17},
            })
            return
        self.start_events()

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"id": "chatcmpl-stub", "object": "chat.completion.chunk",
                    "created": created, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        self.send_event(chunk({"role": "assistant", "content": ""}))
        pieces = reply_pieces(self.state.reply)
        for i, piece in enumerate(pieces):
            if self.state.scenario == "cut" and i == 2:
                self.cut()
                return
            self.send_event(chunk({"content": piece}))
        self.send_event(chunk({}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            self.send_event({"id": "chatcmpl-stub", "object": "chat.completion.chunk",
                             "created": created, "model": model, "choices": [],
                             "usage": {"prompt_tokens": 10, "completion_tokens": len(pieces),
                                       "total_tokens": 10 + len(pieces)}})
        self.send_event("[DONE]")
        self.end_events()


def _error(message: str, kind: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class OpenAIStub(StubServer):
    def __init__(self, **state: Any) -> None:
        super().__init__(OpenAIHandler, **state)

    @property
    def url(self) -> str:
        return f"{self.root}/v1"


def openai_stub(**state: Any) -> OpenAIStub:
    """A started-on-enter stub; see :class:`tests.servers.http_stub.StubState` for options."""
    return OpenAIStub(**state)
