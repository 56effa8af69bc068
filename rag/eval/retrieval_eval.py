"""Retrieval evaluation: every question through every retrieval mode, ranked hits scored.

The scoring is independent of where the questions come from: a :class:`EvalQuery` carries a
function that says which relevant unit (if any) a retrieved chunk belongs to. The gold set maps
chunks to (file, locator) units; BEIR maps them to corpus document ids.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rag.eval.metrics import (
    first_relevant_rank,
    mean,
    mrr_at_k,
    ndcg_at_k,
    percentile,
    recall_at_k,
)
from rag.eval.relevance import dedup_hits
from rag.settings import Settings

RERANK_MODE = "hybrid+rerank"
DEPTH = 10  # ranks scored: Recall@10, MRR@10, nDCG@10


@dataclass(frozen=True)
class EvalQuery:
    id: str
    text: str
    n_relevant: int
    unit_of: Callable[[Any], object | None]  # retrieved chunk -> relevant unit key or None
    doc_key: Callable[[Any], object] | None = None  # doc-level eval: rank documents, not chunks


@dataclass(frozen=True)
class QueryResult:
    query_id: str
    mode: str
    first_rank: int | None
    hits: tuple[bool, ...]
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float
    ndcg_at_10: float
    latency_ms: float


@dataclass(frozen=True)
class ModeSummary:
    mode: str
    queries: int
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    hit_at_5: float  # share of queries with at least one relevant unit in the top 5
    mrr_at_10: float
    ndcg_at_10: float
    p50_ms: float
    p95_ms: float

    def row(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "n": self.queries,
            "R@1": self.recall_at_1,
            "R@5": self.recall_at_5,
            "R@10": self.recall_at_10,
            "Hit@5": self.hit_at_5,
            "MRR@10": self.mrr_at_10,
            "nDCG@10": self.ndcg_at_10,
            "p50 ms": self.p50_ms,
            "p95 ms": self.p95_ms,
        }


@dataclass(frozen=True)
class RetrievalEval:
    dataset: str
    summaries: tuple[ModeSummary, ...]
    per_query: tuple[QueryResult, ...]
    notes: tuple[str, ...] = ()


def collapse_to_documents(chunks: Sequence[Any], doc_key: Callable[[Any], object]) -> list[Any]:
    """Keep each document's best-ranked chunk only (document-level ranking, as BEIR scores)."""
    seen: set[object] = set()
    kept = []
    for chunk in chunks:
        key = doc_key(chunk)
        if key not in seen:
            seen.add(key)
            kept.append(chunk)
    return kept


def score_query(query: EvalQuery, mode: str, chunks: Sequence[Any], latency_ms: float
                ) -> QueryResult:
    if query.doc_key is not None:
        chunks = collapse_to_documents(chunks, query.doc_key)
    hits = dedup_hits([query.unit_of(c) for c in chunks[:DEPTH]])
    return QueryResult(
        query_id=query.id,
        mode=mode,
        first_rank=first_relevant_rank(hits),
        hits=tuple(hits),
        recall_at_1=recall_at_k(hits, query.n_relevant, 1),
        recall_at_5=recall_at_k(hits, query.n_relevant, 5),
        recall_at_10=recall_at_k(hits, query.n_relevant, 10),
        mrr_at_10=mrr_at_k(hits, 10),
        ndcg_at_10=ndcg_at_k(hits, query.n_relevant, 10),
        latency_ms=latency_ms,
    )


def summarise(mode: str, results: Sequence[QueryResult]) -> ModeSummary:
    latencies = [r.latency_ms for r in results]
    return ModeSummary(
        mode=mode,
        queries=len(results),
        recall_at_1=mean(r.recall_at_1 for r in results),
        recall_at_5=mean(r.recall_at_5 for r in results),
        recall_at_10=mean(r.recall_at_10 for r in results),
        hit_at_5=mean(1.0 if r.first_rank is not None and r.first_rank <= 5 else 0.0
                      for r in results),
        mrr_at_10=mean(r.mrr_at_10 for r in results),
        ndcg_at_10=mean(r.ndcg_at_10 for r in results),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
    )


Searcher = Callable[[str], list[Any]]  # query text -> ranked chunks (RetrievedChunk)


def mode_searchers(
    index: Any, modes: Sequence[str], settings: Settings, depth: int = DEPTH
) -> tuple[dict[str, Searcher], list[str]]:
    """A search function per requested mode, plus notes on stages that are off.

    Every mode ranks ``depth`` chunks with no score floor (``min_score=0``) so modes compare on
    the same footing; ``hybrid+rerank`` reranks the hybrid candidates (``fetch_k`` of them).
    """
    from rag.retrieval.modes import retrieve
    from rag.retrieval.rerank import RERANKER_OFF, get_reranker

    fetch_k = max(settings.retrieval.fetch_k, depth)
    searchers: dict[str, Searcher] = {}
    notes: list[str] = []
    for mode in modes:
        if mode == RERANK_MODE:
            reranker = get_reranker(settings)
            if reranker is None:
                notes.append(f"{RERANK_MODE} skipped: {RERANKER_OFF}")
                continue

            def rerank_search(q: str, _r: Any = reranker) -> list[Any]:
                pool = retrieve(index, q, mode="hybrid", k=fetch_k, fetch_k=fetch_k,
                                min_score=0.0, settings=settings)
                return _r.rerank(q, pool, depth)

            searchers[mode] = rerank_search
        else:
            searchers[mode] = (
                lambda q, _m=mode: retrieve(index, q, mode=_m, k=depth, fetch_k=fetch_k,
                                            min_score=0.0, settings=settings)
            )
    return searchers, notes


def evaluate_retrieval(
    dataset: str,
    queries: Sequence[EvalQuery],
    searchers: dict[str, Searcher],
    notes: Sequence[str] = (),
    progress: Callable[[str, int, int], None] | None = None,
) -> RetrievalEval:
    """Run every query through every searcher; one untimed warm-up query per mode first."""
    per_query: list[QueryResult] = []
    summaries: list[ModeSummary] = []
    for mode, search in searchers.items():
        if queries:
            search(queries[0].text)  # loads models / builds the BM25 index outside the timing
        results = []
        for i, query in enumerate(queries, start=1):
            start = time.perf_counter()
            chunks = search(query.text)
            latency_ms = (time.perf_counter() - start) * 1000
            results.append(score_query(query, mode, chunks, latency_ms))
            if progress is not None:
                progress(mode, i, len(queries))
        per_query.extend(results)
        summaries.append(summarise(mode, results))
    return RetrievalEval(dataset, tuple(summaries), tuple(per_query), tuple(notes))
