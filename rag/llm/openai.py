"""OpenAI-protocol backend: OpenAI itself or any compatible server (vLLM, transformers serve...).

LangChain's ChatOpenAI does the protocol; the subclass only turns failures into BackendError
with a clear reason (and no API key) and notices a stream that ends without a finish reason.
The same guard serves the huggingface backend (``rag.llm.huggingface``), whose endpoints speak
this protocol too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI
from langchain_openai.chat_models.base import BaseChatOpenAI

from rag.endpoints import OPENAI_DEFAULT_URL, server_key
from rag.errors import ConfigError
from rag.llm.errors import finished_stream, has_finish_reason, stream_cut, wrap_backend_errors
from rag.llm.presets import DecodingPreset
from rag.settings import Settings, get_settings

# Local OpenAI-compatible servers need no key, but the client insists on one.
NO_KEY_PLACEHOLDER = "EMPTY"

UNSUPPORTED = {
    "top_k": "the OpenAI chat-completions API has no top_k parameter",
    "repetition_penalty": "the OpenAI API has no repetition_penalty (its frequency_penalty "
    "is a different, additive penalty, so it is not substituted)",
}


class GuardedChatModel(BaseChatOpenAI):
    """An OpenAI-protocol chat model whose failures are BackendError("<backend> backend: ...")
    without the key, and whose stream must end with a finish reason."""

    backend_name: ClassVar[str] = "openai"

    def _guard(self) -> Any:
        key = self.openai_api_key.get_secret_value() if self.openai_api_key else None
        timeout = self.request_timeout if isinstance(self.request_timeout, int | float) else 60
        return wrap_backend_errors(
            self.backend_name, self.endpoint_url, timeout=float(timeout), secrets=[key]
        )

    @property
    def endpoint_url(self) -> str:
        return self.openai_api_base or OPENAI_DEFAULT_URL

    def with_decoding(self, decoding: DecodingPreset) -> Any:
        return self.model_copy(update=decoding_params(decoding))

    def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
        with self._guard():
            return super()._generate(*args, **kwargs)

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        with self._guard():
            yield from finished_stream(super()._stream(*args, **kwargs), self.endpoint_url)

    async def _agenerate(self, *args: Any, **kwargs: Any) -> ChatResult:
        with self._guard():
            return await super()._agenerate(*args, **kwargs)

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        with self._guard():
            finished = False
            async for chunk in super()._astream(*args, **kwargs):
                finished = finished or has_finish_reason(chunk)
                yield chunk
            if not finished:
                raise stream_cut(self.endpoint_url)


class GuardedChatOpenAI(GuardedChatModel, ChatOpenAI):
    """ChatOpenAI whose failures are BackendError("openai backend: <reason>")."""


def decoding_params(decoding: DecodingPreset) -> dict[str, Any]:
    """ChatOpenAI fields for a decoding preset (top_k / repetition_penalty have no field)."""
    return {
        "temperature": decoding.temperature,
        "top_p": decoding.top_p,
        "max_tokens": decoding.max_new_tokens,
        "seed": decoding.seed,
    }


def api_key_of(settings: Settings) -> str | None:
    """The key ``settings`` names, else the server's own key if they aim at its endpoint.

    The server's key (``OPENAI_API_KEY`` or its ``llm.api_key``) is looked up in the process's
    own settings, never in ``settings``: those may carry a URL a user typed.
    """
    if settings.llm.api_key is not None:
        return settings.llm.api_key.get_secret_value()
    url = settings.llm.base_url or OPENAI_DEFAULT_URL
    key = server_key(get_settings(), "openai", url)
    return key.get_secret_value() if key is not None else None


def _key_or_endpoint(settings: Settings) -> str | None:
    """The key to send; ConfigError when there is neither a key nor an endpoint of our own
    (nothing is sent to api.openai.com without a key)."""
    key = api_key_of(settings)
    if key is None and settings.llm.base_url is None:
        raise ConfigError(
            "the openai backend has no key for api.openai.com: set llm.api_key "
            "(RAG_LLM__API_KEY, or OPENAI_API_KEY with RAG_LLM__BACKEND=openai), or use a base "
            "URL this server allows"
        )
    return key


def make_openai_chat_model(settings: Settings, decoding: DecodingPreset) -> GuardedChatOpenAI:
    """The ``openai`` backend factory."""
    llm = settings.llm
    if not llm.model:
        raise ConfigError("the openai backend needs llm.model (the model name on the server)")
    key = _key_or_endpoint(settings)
    return GuardedChatOpenAI(
        model=llm.model,
        api_key=key or NO_KEY_PLACEHOLDER,
        base_url=llm.base_url,
        timeout=llm.timeout_s,
        max_retries=llm.max_retries,
        streaming=True,
        **decoding_params(decoding),
    )


def check_openai_connection(settings: Settings, timeout: float) -> str:
    """List the server's models: proves the URL, the key and (when listed) the model name."""
    import openai

    llm = settings.llm
    key = _key_or_endpoint(settings)
    url = llm.base_url or OPENAI_DEFAULT_URL
    with wrap_backend_errors("openai", url, timeout=timeout, secrets=[key]):
        client = openai.OpenAI(
            api_key=key or NO_KEY_PLACEHOLDER, base_url=url, timeout=timeout, max_retries=0
        )
        ids = [m.id for m in client.models.list()]
    found = "" if not llm.model else (
        f"; model {llm.model!r} is available" if llm.model in ids
        else f"; model {llm.model!r} is not in its list"
    )
    return f"connected to {url}: {len(ids)} model(s){found}"
