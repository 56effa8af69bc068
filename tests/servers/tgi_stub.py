"""A stand-in for a Hugging Face text-generation-inference (TGI) endpoint, as the
``huggingface`` backend uses it: ``POST /v1/chat/completions`` (TGI's Messages API, SSE
streaming), ``GET /health`` and ``GET /info``.

TGI's error shape is ``{"error": "...", "error_type": "..."}``, both as an HTTP error body and
as an event inside a stream that fails after it started (scenario ``stream_error``).
"""

from __future__ import annotations

import time
from typing import Any

from tests.servers.http_stub import StubHandler, StubServer, reply_pieces


class TGIHandler(StubHandler):
    def route(self, method: str, path: str, body: Any) -> None:
        state = self.state
        if state.scenario == "stall":
            self.stall()
            return
        if state.scenario == "unauthorized" or not self.bearer_ok():
            self.send_json(401, {"error": "Authorization header is correct, but the token "
                                 "seems invalid", "error_type": "unauthorized"})
            return
        if state.scenario == "rate_limit":
            self.send_json(429, {"error": "Model is overloaded", "error_type": "overloaded"},
                           {"retry-after": str(state.retry_after)})
            return
        if method == "GET" and path == "/health":
            self.send_json(200, {})
        elif method == "GET" and path == "/info":
            self.send_json(200, {"model_id": state.model, "max_total_tokens": 2048,
                                 "router": "text-generation-router"})
        elif method == "POST" and path == "/v1/chat/completions":
            self._chat(body or {})
        else:
            self.send_json(404, {"error": f"no route {method} {path}", "error_type": "router"})

    def _chat(self, body: dict[str, Any]) -> None:
        created = int(time.time())
        limit = int(body.get("max_tokens") or 1_000)
        pieces = reply_pieces(self.state.reply)[:limit]
        finish = "length" if len(pieces) == limit else "stop"
        if not body.get("stream"):
            self.send_json(200, {
                "object": "chat.completion", "id": "", "created": created,
                "model": self.state.model, "system_fingerprint": "stub-tgi",
                "choices": [{"index": 0, "finish_reason": finish, "logprobs": None,
                             "message": {"role": "assistant", "content": "".join(pieces)}}],
                "usage": {"prompt_tokens": 10, "completion_tokens": len(pieces),
                          "total_tokens": 10 + len(pieces)},
            })
            return
        self.start_events()
        for i, piece in enumerate(pieces):
            if i == 2 and self.state.scenario == "cut":
                self.cut()
                return
            if i == 2 and self.state.scenario == "stream_error":
                self.send_event({"error": "Request failed during generation: out of memory",
                                 "error_type": "generation"})
                self.end_events()
                return
            last = i == len(pieces) - 1
            self.send_event({
                "object": "chat.completion.chunk", "id": "", "created": created,
                "model": self.state.model, "system_fingerprint": "stub-tgi",
                "choices": [{"index": 0, "logprobs": None,
                             "delta": {"role": "assistant", "content": piece},
                             "finish_reason": finish if last else None}],
                "usage": {"prompt_tokens": 10, "completion_tokens": len(pieces),
                          "total_tokens": 10 + len(pieces)} if last else None,
            })
        self.send_event("[DONE]")
        self.end_events()


class TGIStub(StubServer):
    def __init__(self, **state: Any) -> None:
        super().__init__(TGIHandler, **state)

    @property
    def url(self) -> str:
        return self.root


def tgi_stub(**state: Any) -> TGIStub:
    return TGIStub(**state)
