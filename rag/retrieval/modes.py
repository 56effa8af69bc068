"""Retrieval modes: dense, MMR, BM25 and hybrid (dense and BM25 fused, by a convex combination of
their scores or by reciprocal rank fusion).

Every mode returns :class:`RetrievedChunk` rows carrying the ranks and scores of both
retrievers, so the UI's retrieval debugger can show BM25 / dense / fused ranks side by side.

Score conventions (what ``RetrievedChunk.score`` means per mode):

- ``dense``: cosine relevance ``1 - cosine distance``; hits below ``min_score`` are dropped.
  The best ``rescore_depth`` are re-read past the embedding window (rag.retrieval.windows):
  a chunk's relevance is then its best window's cosine.
- ``mmr``: the same dense relevance; candidates below ``min_score`` are dropped before the
  diversity selection.
- ``bm25``: BM25 score divided by the best BM25 score of the query (1.0 for the top hit), for
  display only. ``min_score`` does not apply: it is a cosine threshold and means nothing on a
  keyword scale. A chunk sharing no term with the query is never returned.
- ``hybrid``: the fused score: with ``fusion="convex"`` (the default)
  ``dense_share * cosine + (1 - dense_share) * BM25 / the query's best BM25`` (a dense
  candidate outside BM25's top ``fetch_k`` brings its own BM25 score, 0 only if it shares no
  term with the query), with ``fusion="rrf"`` the weighted RRF score. Scores fuse
  better than ranks here: RRF gives BM25's clear first hit (the one chunk holding a version
  or code asked for) no more than a chunk both lists rank middling, while the scores keep how
  far ahead it is. ``min_score`` gates the *dense vote* only: a dense
  candidate below it gets no dense rank, but a chunk the BM25 ranking finds is kept, because
  exact-token matches (error codes, part numbers) are exactly the hits with weak cosine
  similarity that hybrid retrieval exists to recover. With ``rescore_hybrid`` (convex only),
  the best candidates are re-read as in dense mode and the cosine part of their score raised.

``dense_score`` is filled for every returned chunk in every mode (for BM25-only hits it is the
cosine similarity of the query vector and the chunk's stored vector), so the answer chain's
"nothing relevant" refusal, which looks at the best dense relevance, works in every mode.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from langchain_chroma.vectorstores import maximal_marginal_relevance
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, field_validator

from rag.errors import ConfigError
from rag.retrieval.windows import cosines_to, later_window_relevance
from rag.settings import Settings, get_settings
from rag.store.bm25 import bm25_search, cite_record


@dataclass(frozen=True)
class RetrievedChunk:
    """One retrieved chunk with both retrievers' view of it (ranks are 1-based)."""

    doc: Document
    score: float  # the mode's own score (see module docstring)
    dense_rank: int | None  # position in the dense candidate list, None if not there
    bm25_rank: int | None  # position in the BM25 ranking, None if it shares no term or BM25
    # was not asked (dense, MMR)
    fused_rank: int  # position in the returned list
    dense_score: float | None  # cosine relevance to the query
    bm25_score: float | None  # raw BM25 score, None if the chunk shares no term with the query


@dataclass(frozen=True)
class _Request:
    index: Any
    query: str
    query_vector: np.ndarray
    k: int
    fetch_k: int
    min_score: float
    settings: Settings


@dataclass(frozen=True)
class _DenseCandidate:
    doc: Document
    relevance: float
    vector: np.ndarray | None


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], weights: Sequence[float], k: int
) -> list[tuple[str, float]]:
    """Fuse rankings of ids: ``score(d) = sum_i weights[i] / (k + rank_i(d))``, ranks 1-based.

    Returns (id, score) best first; equal scores keep the order in which ids were first seen
    (earlier rankings first), so the result is deterministic.
    """
    if len(rankings) != len(weights):
        raise ValueError(f"{len(rankings)} rankings but {len(weights)} weights")
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        seen: set[str] = set()
        for rank, item in enumerate(ranking, start=1):
            if item in seen:  # a repeated id keeps its best (first) rank
                continue
            seen.add(item)
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda pair: -pair[1])  # stable: ties keep first-seen order


def convex_fusion(
    cosines: Mapping[str, float], bm25_scores: Mapping[str, float], dense_share: float
) -> list[tuple[str, float]]:
    """Fuse two scored candidate sets: ``dense_share * cosine + (1 - dense_share) * bm25 /
    max(bm25)`` (BM25 scaled by the query's best, so 0..1 like the cosine; a candidate without
    a BM25 score adds 0). Every candidate needs a cosine; ids only in ``bm25_scores`` are
    skipped. Returns (id, score) best first; ties keep the order of ``cosines``."""
    top = max(bm25_scores.values(), default=0.0)
    fused = {
        cid: dense_share * cos
        + (1.0 - dense_share) * (bm25_scores.get(cid, 0.0) / top if top > 0 else 0.0)
        for cid, cos in cosines.items()
    }
    return sorted(fused.items(), key=lambda pair: -pair[1])  # stable: ties keep that order


def _dense_candidates(request: _Request, n: int, *, vectors: bool) -> list[_DenseCandidate]:
    include = ["documents", "metadatas", "distances"] + (["embeddings"] if vectors else [])
    result = request.index.read("searching", lambda c: c.query(
        query_embeddings=[request.query_vector.tolist()], n_results=n, include=include
    ))
    ids = result["ids"][0]
    rows = zip(
        ids,
        result["documents"][0],
        result["metadatas"][0],
        result["distances"][0],
        result["embeddings"][0] if vectors else [None] * len(ids),
        strict=True,
    )
    candidates = []
    for chunk_id, text, metadata, distance, vector in rows:
        if text is None:
            continue
        doc = Document(text, metadata={**(metadata or {}), "chunk_id": chunk_id}, id=chunk_id)
        # Collections use cosine space (rag/store/clients.py): distance = 1 - cosine similarity.
        vec = None if vector is None else np.asarray(vector, dtype=np.float32)
        candidates.append(_DenseCandidate(doc, 1.0 - float(distance), vec))
    return candidates


def _cosine_to_query(request: _Request, chunk_ids: Sequence[str]) -> dict[str, float]:
    """Cosine similarity of the query and each chunk's stored vector; absent ids are omitted."""
    if not chunk_ids:
        return {}
    stored = request.index.read(
        "reading vectors from", lambda c: c.get(ids=list(chunk_ids), include=["embeddings"])
    )
    if len(stored["ids"]) == 0:
        return {}
    matrix = np.asarray(stored["embeddings"], dtype=np.float32)
    similarity = cosines_to(request.query_vector, matrix)
    return {cid: float(s) for cid, s in zip(stored["ids"], similarity, strict=True)}


def _rescored(
    request: _Request, chunks: list[RetrievedChunk], dense_share: float
) -> list[RetrievedChunk]:
    """The first ``k`` of ``chunks`` after their best ``rescore_depth`` are re-read past the
    embedding window (rag.retrieval.windows): a better later window raises the chunk's dense
    relevance and, by ``dense_share`` of the gain, its score."""
    depth = min(request.settings.retrieval.rescore_depth, len(chunks))
    if depth < 2:  # one candidate has nothing to be re-ordered against
        return chunks[: request.k]
    head = chunks[:depth]
    later = later_window_relevance(
        request.index.embeddings, request.query_vector, [c.doc for c in head]
    )
    raised = [
        c if best is None or c.dense_score is None or best <= c.dense_score
        else replace(c, score=c.score + dense_share * (best - c.dense_score), dense_score=best)
        for c, best in zip(head, later, strict=True)
    ]
    raised.sort(key=lambda c: -c.score)  # stable: equal scores keep the fused order
    ordered = raised + chunks[depth:]
    return [replace(c, fused_rank=n) for n, c in enumerate(ordered[: request.k], start=1)]


def _depth(request: _Request) -> int:
    """Candidates a mode ranks before cutting to ``k``: enough to re-read the best few."""
    return max(request.k, request.settings.retrieval.rescore_depth)


def _dense(request: _Request) -> list[RetrievedChunk]:
    candidates = _dense_candidates(request, _depth(request), vectors=False)
    kept = [c for c in candidates if c.relevance >= request.min_score]
    chunks = [
        RetrievedChunk(c.doc, c.relevance, n, None, n, c.relevance, None)
        for n, c in enumerate(kept, start=1)
    ]
    return _rescored(request, chunks, dense_share=1.0)


def _mmr(request: _Request) -> list[RetrievedChunk]:
    # The same selection as langchain Chroma's max_marginal_relevance_search (its own
    # maximal_marginal_relevance over fetch_k candidates), done here on one query result so the
    # dense relevance of each pick is known and min_score can drop candidates first.
    candidates = _dense_candidates(request, max(request.fetch_k, request.k), vectors=True)
    candidates = [c for c in candidates if c.relevance >= request.min_score]
    if not candidates:
        return []
    picked = maximal_marginal_relevance(
        request.query_vector,
        [c.vector for c in candidates],
        lambda_mult=request.settings.retrieval.mmr_lambda,
        k=request.k,
    )
    return [
        RetrievedChunk(
            candidates[i].doc, candidates[i].relevance, i + 1, None, n,
            candidates[i].relevance, None,
        )
        for n, i in enumerate(picked, start=1)
    ]


def _bm25(request: _Request) -> list[RetrievedChunk]:
    hits = bm25_search(request.index, request.query, request.k, request.settings)
    cosine = _cosine_to_query(request, [h.chunk_id for h in hits])
    # A hit whose chunk left the store since the BM25 snapshot was read is dropped, not shown.
    hits = [h for h in hits if h.chunk_id in cosine]
    best = max((h.score for h in hits), default=1.0)
    return [
        RetrievedChunk(h.doc, h.score / best, None, h.rank, n, cosine[h.chunk_id], h.score)
        for n, h in enumerate(hits, start=1)
    ]


def _hybrid(request: _Request) -> list[RetrievedChunk]:
    cfg = request.settings.retrieval
    fetch_k = max(request.fetch_k, request.k)
    dense = [
        c for c in _dense_candidates(request, fetch_k, vectors=False)
        if c.relevance >= request.min_score
    ]
    dense_by_id = {_id(c.doc): (n, c) for n, c in enumerate(dense, start=1)}
    # BM25's top fetch_k, plus the BM25 score of every dense candidate ranked below them (a
    # chunk outside BM25's top list may still share the query's rarer words).
    bm25_hits = bm25_search(
        request.index, request.query, fetch_k, request.settings, also=dense_by_id
    )
    bm25_by_id = {h.chunk_id: h for h in bm25_hits}
    bm25_ids = [h.chunk_id for h in bm25_hits if h.rank <= fetch_k]
    # Chunks only BM25 found still need their dense relevance (see the module docstring).
    cosine = _cosine_to_query(request, [cid for cid in bm25_ids if cid not in dense_by_id])
    if cfg.fusion == "rrf":
        fused = reciprocal_rank_fusion(
            [list(dense_by_id), bm25_ids], [cfg.dense_weight, cfg.bm25_weight], cfg.rrf_k
        )
    else:
        cosines = {cid: c.relevance for cid, (_, c) in dense_by_id.items()}
        cosines.update({cid: cosine[cid] for cid in bm25_ids if cid in cosine})
        fused = convex_fusion(
            cosines, {h.chunk_id: h.score for h in bm25_hits}, cfg.dense_share
        )

    # RRF scores ranks, not cosines: a better window has no place in them.
    rescore = cfg.rescore_hybrid and cfg.fusion == "convex"
    out: list[RetrievedChunk] = []
    wanted = _depth(request) if rescore else request.k
    for chunk_id, score in fused:
        if len(out) == wanted:
            break
        hit = bm25_by_id.get(chunk_id)
        dense_rank, candidate = dense_by_id.get(chunk_id, (None, None))
        if candidate is not None:
            doc, dense_score = candidate.doc, candidate.relevance
        elif hit is not None and chunk_id in cosine:
            doc, dense_score = hit.doc, cosine[chunk_id]
        else:
            continue  # deleted from the store after the BM25 snapshot was read
        bm25_rank, bm25_score = (None, None) if hit is None else (hit.rank, hit.score)
        out.append(
            RetrievedChunk(
                doc, score, dense_rank, bm25_rank, len(out) + 1, dense_score, bm25_score
            )
        )
    return _rescored(request, out, cfg.dense_share) if rescore else out


def _id(doc: Document) -> str:
    return str(doc.id)


RETRIEVAL_MODES: dict[str, Callable[[_Request], list[RetrievedChunk]]] = {
    "dense": _dense,
    "mmr": _mmr,
    "bm25": _bm25,
    "hybrid": _hybrid,
}


def _check_mode(mode: str) -> str:
    if mode not in RETRIEVAL_MODES:
        raise ConfigError(
            f"unknown retrieval mode {mode!r}; choose one of: {', '.join(RETRIEVAL_MODES)}"
        )
    return mode


def retrieve(
    index: Any,
    query: str,
    *,
    mode: str | None = None,
    k: int | None = None,
    fetch_k: int | None = None,
    min_score: float | None = None,
    settings: Settings | None = None,
) -> list[RetrievedChunk]:
    """The ``k`` best chunks of ``index`` (a ``DocumentIndex``) for ``query`` in ``mode``.

    Unset arguments come from ``settings.retrieval``. Unknown ``mode`` raises ConfigError.
    """
    settings = settings or get_settings()
    cfg = settings.retrieval
    mode = _check_mode(cfg.mode if mode is None else mode)
    k = cfg.k if k is None else k
    if k < 1:
        raise ConfigError(f"retrieval k must be at least 1, got {k}")
    embeddings = index.embeddings  # the model the collection was built with
    refresh = getattr(index, "refresh", None)
    if refresh is not None:  # follow writes made by other processes before reading
        refresh()
    request = _Request(
        index=index,
        query=query,
        query_vector=np.asarray(embeddings.embed_query(query), dtype=np.float32),
        k=k,
        fetch_k=cfg.fetch_k if fetch_k is None else fetch_k,
        min_score=cfg.min_score if min_score is None else min_score,
        settings=settings,
    )
    return [cite_matching_record(chunk, query) for chunk in RETRIEVAL_MODES[mode](request)]


def cite_matching_record(chunk: RetrievedChunk, query: str) -> RetrievedChunk:
    """The chunk, cited by the record of it that matches ``query`` (see ``cite_record``)."""
    doc = cite_record(chunk.doc, query)
    return chunk if doc is chunk.doc else replace(chunk, doc=doc)


def chunk_to_document(chunk: RetrievedChunk) -> Document:
    """The chunk's Document with its retrieval scores and ranks added to the metadata."""
    metadata = {
        **chunk.doc.metadata,
        "score": chunk.score,
        "dense_score": chunk.dense_score,
        "bm25_score": chunk.bm25_score,
        "dense_rank": chunk.dense_rank,
        "bm25_rank": chunk.bm25_rank,
        "fused_rank": chunk.fused_rank,
    }
    return Document(page_content=chunk.doc.page_content, metadata=metadata, id=chunk.doc.id)


class HybridRetriever(BaseRetriever):
    """LangChain retriever over a ``DocumentIndex`` in any mode (usable in LCEL chains).

    Returned Documents carry ``score``, ``dense_score``, ``bm25_score``, ``dense_rank``,
    ``bm25_rank`` and ``fused_rank`` in their metadata. ``k`` may also be passed per call:
    ``retriever.invoke(question, k=3)``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Any
    mode: str = "hybrid"
    k: int = 4
    fetch_k: int | None = None
    min_score: float | None = None
    settings: Settings | None = None

    @field_validator("mode")
    @classmethod
    def _known_mode(cls, mode: str) -> str:
        return _check_mode(mode)

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
    ) -> list[Document]:
        chunks = retrieve(
            self.index,
            query,
            mode=self.mode,
            k=self.k if k is None else k,
            fetch_k=self.fetch_k,
            min_score=self.min_score,
            settings=self.settings,
        )
        return [chunk_to_document(c) for c in chunks]
