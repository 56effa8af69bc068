"""Hugging Face endpoint backend: TGI / Inference Endpoints / ``transformers serve``.

It speaks the endpoints' chat-completions route (``POST {base_url}/v1/chat/completions``, SSE)
with httpx directly. Why not langchain-huggingface's ChatHuggingFace over
HuggingFaceEndpoint, or huggingface_hub's InferenceClient (checked against the installed
langchain-huggingface 1.2 / huggingface_hub 1.x):

* InferenceClient refuses every request while ``HF_HUB_OFFLINE=1`` ("offline mode is
  enabled"), even to 127.0.0.1, and this app runs with that switch on to forbid downloads.
* HuggingFaceEndpoint drops the token for any endpoint URL not hosted by Hugging Face, so a
  protected self-hosted TGI answers 401; and it sends the URL as the model name, which
  ``transformers serve`` cannot load.
* Its text-generation route (which has top_k / repetition_penalty) needs the chat template
  applied client-side, i.e. the model's tokenizer, which would be a hub download.

The chat route has no top_k / repetition_penalty field (``transformers serve`` answers 422
to unknown fields), so the capabilities say so instead of sending them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGenerationChunk
from pydantic import Field, SecretStr

from rag.errors import BackendError, ConfigError
from rag.llm.base import StreamingChatModel
from rag.llm.errors import describe_status, finished_stream, wrap_backend_errors
from rag.presets import DecodingPreset
from rag.settings import Settings

UNSUPPORTED = {
    "top_k": "the endpoints' chat-completions route has no top_k field (only the raw "
    "text-generation route does, and that one needs the model's tokenizer on this side)",
    "repetition_penalty": "the endpoints' chat-completions route has no repetition_penalty "
    "field (transformers serve rejects unknown fields)",
}
_RETRY_STATUS = {429, 502, 503, 504}
_MAX_RETRY_WAIT_S = 10.0  # a longer server-requested wait is better reported than sat through
_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


def chat_url(base_url: str) -> str:
    """The chat-completions URL for a server root or a ``.../v1`` base."""
    base = base_url.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    return f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"


def server_root(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


class HFEndpointChatModel(StreamingChatModel):
    """Chat model over a Hugging Face style endpoint's chat-completions route (streamed)."""

    base_url: str = Field(description="Server root or its /v1 base, e.g. http://host:8080")
    model: str = Field("tgi", description="Model name sent in the body (TGI ignores it).")
    api_key: SecretStr | None = None
    timeout: float = 60.0
    max_retries: int = 1
    temperature: float = 0.0
    top_p: float | None = None
    max_new_tokens: int = 256
    seed: int | None = None

    @property
    def _llm_type(self) -> str:
        return "huggingface-endpoint-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "model": self.model}

    def with_decoding(self, decoding: DecodingPreset) -> HFEndpointChatModel:
        return self.model_copy(update=decoding_params(decoding))

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        if self.api_key is not None:
            headers["Authorization"] = f"Bearer {self.api_key.get_secret_value()}"
        return headers

    def _body(self, messages: list[BaseMessage], stop: list[str] | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [_message_dict(m) for m in messages],
            "stream": True,
            "max_tokens": self.max_new_tokens,
            "temperature": self.temperature,
        }
        optional = {"top_p": self.top_p, "seed": self.seed, "stop": stop or None}
        body.update({k: v for k, v in optional.items() if v is not None})
        return body

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        url = chat_url(self.base_url)
        key = self.api_key.get_secret_value() if self.api_key else None
        with wrap_backend_errors("huggingface", url, timeout=self.timeout, secrets=[key]):
            chunks = self._post_stream(url, self._body(messages, stop))
            for chunk in finished_stream(chunks, url):
                if run_manager and chunk.text:
                    run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk

    def _post_stream(self, url: str, body: dict[str, Any]) -> Iterator[ChatGenerationChunk]:
        transport = httpx.HTTPTransport(retries=self.max_retries)  # connection retries
        with httpx.Client(timeout=self.timeout, transport=transport) as client:
            for attempt in range(self.max_retries + 1):
                with client.stream("POST", url, json=body, headers=self._headers()) as response:
                    if response.status_code in _RETRY_STATUS and attempt < self.max_retries:
                        response.read()
                        time.sleep(_retry_delay(response))
                        continue
                    if response.status_code >= 400:
                        response.read()
                        response.raise_for_status()
                    for line in response.iter_lines():
                        if not line.startswith("data:"):
                            continue
                        data = line[len("data:") :].strip()
                        if data == "[DONE]":
                            return
                        yield from _parse_event(json.loads(data), url)
                    return


def _retry_delay(response: httpx.Response) -> float:
    try:
        return min(float(response.headers.get("retry-after", "1")), _MAX_RETRY_WAIT_S)
    except ValueError:
        return 1.0


def _parse_event(event: dict[str, Any], url: str) -> Iterator[ChatGenerationChunk]:
    if event.get("error"):
        # TGI reports failures inside the stream: {"error": "...", "error_type": "..."}
        raise BackendError(f"huggingface backend: {url} reported: {event['error']}")
    usage = event.get("usage")
    for choice in event.get("choices", []):
        content = (choice.get("delta") or {}).get("content") or ""
        finish = choice.get("finish_reason")
        info = {"finish_reason": finish} if finish else None
        meta = {"finish_reason": finish, "model_name": event.get("model", "")} if finish else {}
        yield ChatGenerationChunk(
            message=AIMessageChunk(content=content, response_metadata=meta),
            generation_info=info,
        )
    if usage:
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=UsageMetadata(
                    input_tokens=usage.get("prompt_tokens", 0),
                    output_tokens=usage.get("completion_tokens", 0),
                    total_tokens=usage.get("total_tokens", 0),
                ),
            )
        )


def _message_dict(message: BaseMessage) -> dict[str, str]:
    if message.type not in _ROLES:
        raise BackendError(f"huggingface backend cannot send {message.type!r} messages")
    return {"role": _ROLES[message.type], "content": message.text}


def decoding_params(decoding: DecodingPreset) -> dict[str, Any]:
    return {
        "temperature": decoding.temperature,
        "top_p": decoding.top_p,
        "max_new_tokens": decoding.max_new_tokens,
        "seed": decoding.seed,
    }


def make_huggingface_chat_model(
    settings: Settings, decoding: DecodingPreset
) -> HFEndpointChatModel:
    """The ``huggingface`` backend factory."""
    llm = settings.llm
    if not llm.base_url:
        raise ConfigError("the huggingface backend needs llm.base_url (the endpoint URL)")
    return HFEndpointChatModel(
        base_url=llm.base_url,
        model=llm.model or "tgi",
        api_key=llm.api_key,
        timeout=llm.timeout_s,
        max_retries=llm.max_retries,
        **decoding_params(decoding),
    )


def check_huggingface_connection(settings: Settings, timeout: float) -> str:
    """GET {root}/health with the key: proves the URL, the key and that the model is up."""
    llm = settings.llm
    if not llm.base_url:
        raise ConfigError("the huggingface backend needs llm.base_url (the endpoint URL)")
    url = f"{server_root(llm.base_url)}/health"
    key = llm.api_key.get_secret_value() if llm.api_key else None
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with wrap_backend_errors("huggingface", url, timeout=timeout, secrets=[key]):
        response = httpx.get(url, headers=headers, timeout=timeout)
        if response.status_code >= 400:
            raise BackendError(
                f"huggingface backend: {describe_status(response.status_code, url)}"
            )
    return f"connected to {server_root(llm.base_url)}: the endpoint is healthy"
