"""Hugging Face endpoint backend: TGI / Inference Endpoints / ``transformers serve``.

These endpoints speak OpenAI's chat-completions protocol (``POST {base}/v1/chat/completions``,
SSE), so the model is langchain-openai's BaseChatOpenAI over the ``openai`` client with the
guard the openai backend uses (:class:`rag.llm.openai.GuardedChatModel`: BackendError with the
reason and no key, a stream cut before its finish reason is an error). What the maintained
client lacks is kept here, small:

* **TGI's in-stream errors.** A generation that fails after the stream started sends
  ``data: {"error": "...", "error_type": "..."}``. The openai client (3.x) turns an event with
  an ``error`` into ``openai.APIError`` but reads a message only from an error *object*, so for
  TGI's plain string the text becomes "An error occurred during streaming" and the reason
  ("out of memory") survives only in ``exc.body``. :func:`tgi_stream_errors` puts it back.
* **No key, no Authorization header.** The openai client sends ``Bearer <key>`` always and
  refuses to build a request without a key unless the header is omitted per request; with no
  key the model sends a placeholder to the client (so ``OPENAI_API_KEY`` from the environment
  is never read, let alone sent to this endpoint) and omits the header on every request.
* **The base URL** may be the server root, its ``/v1`` base or the full route, as users paste
  them; it is normalised to the ``/v1`` base the client appends routes to.
* **max_tokens**, not ``max_completion_tokens``: the endpoints read the former (which is why
  this is BaseChatOpenAI, not ChatOpenAI, which renames it for OpenAI's newer models).

Retries are the openai client's (``llm.max_retries``: 408, 409, 429, 5xx and connection
errors, honouring ``retry-after`` up to 60 s). Why not langchain-huggingface's ChatHuggingFace
or huggingface_hub's InferenceClient: the latter refuses every request while
``HF_HUB_OFFLINE=1`` (this app's switch against downloads), even to 127.0.0.1;
HuggingFaceEndpoint drops the token for endpoints not hosted by Hugging Face and sends the URL
as the model name, which ``transformers serve`` cannot load.

The chat route has no top_k / repetition_penalty field (``transformers serve`` answers 422 to
unknown fields), so the capabilities say so instead of sending them. The connection check asks
TGI's ``GET /health`` (not part of the OpenAI protocol) with httpx.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import httpx
import openai
from langchain_core.language_models import LanguageModelInput
from pydantic import model_validator

from rag.errors import BackendError, ConfigError
from rag.llm.errors import describe_status, wrap_backend_errors
from rag.llm.openai import NO_KEY_PLACEHOLDER, GuardedChatModel, decoding_params
from rag.llm.presets import DecodingPreset
from rag.settings import Settings

UNSUPPORTED = {
    "top_k": "the endpoints' chat-completions route has no top_k field (only the raw "
    "text-generation route does, and that one needs the model's tokenizer on this side)",
    "repetition_penalty": "the endpoints' chat-completions route has no repetition_penalty "
    "field (transformers serve rejects unknown fields)",
}
DEFAULT_MODEL = "tgi"  # the model name sent when none is set (TGI ignores it)


def v1_base(base_url: str) -> str:
    """The ``.../v1`` base for a server root, a ``.../v1`` base or the chat-completions URL."""
    base = base_url.rstrip("/").removesuffix("/chat/completions")
    return base if base.endswith("/v1") else f"{base}/v1"


def server_root(base_url: str) -> str:
    return v1_base(base_url).removesuffix("/v1")


@contextmanager
def tgi_stream_errors(url: str) -> Iterator[None]:
    """TGI's ``{"error": "<text>"}`` stream event as BackendError naming the text (the openai
    client keeps a plain-string error only in ``body``)."""
    try:
        yield
    except openai.APIError as exc:
        if isinstance(exc, openai.APIStatusError | openai.APIConnectionError):
            raise
        reason = exc.body if isinstance(exc.body, str) and exc.body else exc.message
        raise BackendError(f"huggingface backend: {url} reported: {reason}") from exc


class HFEndpointChatModel(GuardedChatModel):
    """Chat model over a Hugging Face style endpoint's chat-completions route (streamed)."""

    backend_name: ClassVar[str] = "huggingface"

    @model_validator(mode="before")
    @classmethod
    def _endpoint_defaults(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        values = dict(values)
        for name in ("base_url", "openai_api_base"):
            if values.get(name):
                values[name] = v1_base(str(values[name]))
        if values.get("api_key") is None and values.get("openai_api_key") is None:
            values["api_key"] = NO_KEY_PLACEHOLDER  # never read OPENAI_API_KEY for this URL
        if not values.get("model") and not values.get("model_name"):
            values["model"] = DEFAULT_MODEL
        return values

    @property
    def _llm_type(self) -> str:
        return "huggingface-endpoint-chat"

    @property
    def sends_key(self) -> bool:
        key = self.openai_api_key.get_secret_value() if self.openai_api_key else ""
        return bool(key) and key != NO_KEY_PLACEHOLDER

    @contextmanager
    def _guard(self) -> Iterator[None]:
        with super()._guard(), tgi_stream_errors(self.endpoint_url):
            yield

    def _get_request_payload(self, input_: LanguageModelInput, *, stop: list[str] | None = None,
                             **kwargs: Any) -> dict[str, Any]:
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        if not self.sends_key:
            payload["extra_headers"] = {**payload.get("extra_headers", {}),
                                        "Authorization": openai.Omit()}
        return payload


def make_huggingface_chat_model(
    settings: Settings, decoding: DecodingPreset
) -> HFEndpointChatModel:
    """The ``huggingface`` backend factory."""
    llm = settings.llm
    if not llm.base_url:
        raise ConfigError("the huggingface backend needs llm.base_url (the endpoint URL)")
    return HFEndpointChatModel(
        base_url=llm.base_url,
        model=llm.model or DEFAULT_MODEL,
        api_key=llm.api_key,
        timeout=llm.timeout_s,
        max_retries=llm.max_retries,
        streaming=True,
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
