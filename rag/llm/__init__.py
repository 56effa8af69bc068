"""LLM backends: one registry, one factory signature, capabilities for the UI.

``get_chat_model(settings, decoding)`` returns a streaming LangChain chat model for the
backend named by ``settings.llm.backend``. Backend modules are imported on first use so that
importing this package loads neither torch nor any client. :mod:`rag.llm.presets` holds the
prompt and decoding presets the backends and the answer pipeline read.

May import only the modules at the top of ``rag`` (settings, errors, endpoints); retrieval
and the store are not its business.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from langchain_core.language_models import BaseChatModel

from rag.errors import BackendError, ConfigError
from rag.llm.presets import DecodingPreset, load_decoding_preset
from rag.settings import Settings, get_settings

BackendFactory = Callable[[Settings, DecodingPreset], BaseChatModel]
DECODING_PARAMS = ("temperature", "top_k", "top_p", "repetition_penalty", "max_new_tokens", "seed")
# A connection test should answer quickly even when the request timeout is long.
CHECK_TIMEOUT_S = 10.0


def _local(settings: Settings, decoding: DecodingPreset) -> BaseChatModel:
    from rag.llm.local import LocalChatModel

    return LocalChatModel.from_decoding(
        decoding,
        model_path=settings.llm.model,
        cache_dir=settings.cache_dir,
        dtype=settings.llm.dtype,
    )


def _openai(settings: Settings, decoding: DecodingPreset) -> BaseChatModel:
    from rag.llm.openai import make_openai_chat_model

    return make_openai_chat_model(settings, decoding)


def _huggingface(settings: Settings, decoding: DecodingPreset) -> BaseChatModel:
    from rag.llm.huggingface import make_huggingface_chat_model

    return make_huggingface_chat_model(settings, decoding)


BACKENDS: dict[str, BackendFactory] = {
    "local": _local,
    "openai": _openai,
    "huggingface": _huggingface,
}


@dataclass(frozen=True)
class BackendCapabilities:
    """Which decoding parameters a backend honours; why the others are not."""

    backend: str
    unsupported: Mapping[str, str] = field(default_factory=dict)  # parameter → reason

    def honours(self, param: str) -> bool:
        if param not in DECODING_PARAMS:
            raise ConfigError(f"unknown decoding parameter {param!r}; known: {DECODING_PARAMS}")
        return param not in self.unsupported

    @property
    def honoured(self) -> tuple[str, ...]:
        return tuple(p for p in DECODING_PARAMS if p not in self.unsupported)

    def reason(self, param: str) -> str:
        """Why ``param`` is ignored ('' when it is honoured): the disabled control's tooltip."""
        return self.unsupported.get(param, "")


def _unknown(name: str) -> ConfigError:
    return ConfigError(f"unknown LLM backend {name!r}; available: {', '.join(BACKENDS)}")


def backend_capabilities(name: str) -> BackendCapabilities:
    if name not in BACKENDS:
        raise _unknown(name)
    unsupported: dict[str, str] = {}
    if name == "openai":
        from rag.llm.openai import UNSUPPORTED as unsupported
    elif name == "huggingface":
        from rag.llm.huggingface import UNSUPPORTED as unsupported
    return BackendCapabilities(name, MappingProxyType(dict(unsupported)))


def get_chat_model(
    settings: Settings | None = None, decoding: DecodingPreset | None = None
) -> BaseChatModel:
    """A streaming chat model for ``settings.llm.backend`` with ``decoding`` applied."""
    settings = settings or get_settings()
    decoding = decoding or load_decoding_preset(settings.decoding_preset)
    factory = BACKENDS.get(settings.llm.backend)
    if factory is None:
        raise _unknown(settings.llm.backend)
    return factory(settings, decoding)


def check_connection(settings: Settings | None = None) -> str:
    """For a 'Test connection' button: a short success text, or BackendError with the reason."""
    settings = settings or get_settings()
    name = settings.llm.backend
    if name not in BACKENDS:
        raise _unknown(name)
    timeout = min(settings.llm.timeout_s, CHECK_TIMEOUT_S)
    if name == "openai":
        from rag.llm.openai import check_openai_connection

        return check_openai_connection(settings, timeout)
    if name == "huggingface":
        from rag.llm.huggingface import check_huggingface_connection

        return check_huggingface_connection(settings, timeout)
    from rag.llm.local import load_model

    loaded = load_model(settings.llm.model, settings.cache_dir, settings.llm.dtype)
    window = loaded.model.config.max_position_embeddings
    return f"local model {loaded.path.name} loaded ({window}-token context, {loaded.dtype})"


__all__ = [
    "BACKENDS",
    "DECODING_PARAMS",
    "BackendCapabilities",
    "BackendError",
    "BackendFactory",
    "backend_capabilities",
    "check_connection",
    "get_chat_model",
]
