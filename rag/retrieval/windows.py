"""Re-reading the best hits past the embedding model's window.

A chunk's stored vector reads only its first ``embedding.max_tokens`` wordpieces (its header and
opening), while a chunk holds up to ``chunk.chunk_tokens``: a sentence further down is found by
keyword search alone. For the best ``retrieval.rescore_depth`` candidates of a query, the later
windows of each chunk are embedded at query time (each after the chunk's header, as the first
window is at ingest; a chunk of packed records in windows of whole records) and the chunk's
dense relevance becomes its best window's cosine. A
relevance only grows, so the candidates are re-ordered among themselves and none outside them
can overtake one. Window vectors are kept per text in a small cache: a follow-up or a repeated
question over the same hits embeds nothing new.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
from langchain_core.documents import Document

from ingest.records import HEADER_KEY, record_spans

_CACHE_SIZE = 4096  # window vectors (384 floats each: ~6 MB)


class _WindowVectors:
    """An LRU of window vectors keyed by model and text, shared by the threads of a process."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._vectors: OrderedDict[tuple[str, int, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def vectors(self, embeddings: Any, texts: Sequence[str]) -> list[np.ndarray]:
        keys = [
            (embeddings.model_name, embeddings.max_tokens,
             hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())
            for text in texts
        ]
        with self._lock:
            found = {key: self._vectors[key] for key in keys if key in self._vectors}
            for key in found:
                self._vectors.move_to_end(key)
        missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in found}
        if missing:
            computed = embeddings.embed_documents(list(missing.values()))
            fresh = {
                key: np.asarray(vector, dtype=np.float32)
                for key, vector in zip(missing, computed, strict=True)
            }
            found.update(fresh)
            with self._lock:
                self._vectors.update(fresh)
                while len(self._vectors) > self._size:
                    self._vectors.popitem(last=False)
        return [found[key] for key in keys]


_window_vectors = _WindowVectors(_CACHE_SIZE)


def cosines_to(query_vector: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Cosine similarity of the query and each row of ``matrix`` (a zero row scores 0)."""
    query = query_vector / (np.linalg.norm(query_vector) or 1.0)
    norms = np.linalg.norm(matrix, axis=1)
    norms[norms == 0] = 1.0
    return (matrix @ query) / norms


def _record_windows(embeddings: Any, text: str, spans: Sequence[tuple[int, int, str]],
                    reach: int, size: int) -> list[str]:
    """The records of a packed chunk that its stored vector did not read whole (it read up to
    character ``reach``), whole records packed into windows of at most ``size`` wordpieces; a
    longer record is a window of its own (the model reads its opening)."""
    windows: list[list[int]] = []  # [start, end] of each window
    used = 0
    for start, end, _ in spans:
        if end <= reach:
            continue
        tokens = embeddings.count_tokens(text[start:end])
        if windows and used + tokens <= size:
            windows[-1][1], used = end, used + tokens
        else:
            windows.append([start, end])
            used = tokens
    return [text[start:end] for start, end in windows]


def later_window_relevance(
    embeddings: Any, query_vector: np.ndarray, docs: Sequence[Document]
) -> list[float | None]:
    """For each chunk, the best cosine of the query and the chunk's later windows (None when
    the stored vector read all of it)."""
    limit = embeddings.max_tokens
    if not limit:  # the stored vectors read each chunk whole
        return [None] * len(docs)
    windows: list[list[str]] = []
    for doc in docs:
        header = str(doc.metadata.get(HEADER_KEY) or "")
        # The stored vector read the header, then what it left of the limit. Each later window
        # is embedded after the header too, so a window deep in a record still says whose it
        # is; it holds what the header leaves of the limit (at least half: a very long header
        # is then cut with the window's end).
        read = max(limit - (embeddings.count_tokens(header) + 1 if header else 0), 0)
        spans = record_spans(doc.metadata)
        if spans:
            # Packed records are re-read whole: a window cut at a wordpiece count would join
            # the tail of one record (without its name) to the head of the next, and a field
            # of one record would read as the other's.
            pieces = _record_windows(embeddings, doc.page_content, spans,
                                     embeddings.reach(doc.page_content, read), read)
        else:
            pieces = embeddings.later_windows(doc.page_content, read=read,
                                              size=max(read, limit // 2))
        windows.append([f"{header}\n{piece}" if header else piece for piece in pieces])
    flat = [piece for pieces in windows for piece in pieces]
    if not flat:
        return [None] * len(docs)
    cosines = cosines_to(query_vector, np.vstack(_window_vectors.vectors(embeddings, flat)))
    out: list[float | None] = []
    position = 0
    for pieces in windows:
        if pieces:
            out.append(float(cosines[position: position + len(pieces)].max()))
        else:
            out.append(None)
        position += len(pieces)
    return out
