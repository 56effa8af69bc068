"""Whole evaluation runs: build the dedicated index, then retrieval / calibration / answers.

Each dataset gets its own collection (``eval_<name>``) so evaluation never touches the user's
documents, and a re-run skips what is already indexed: unchanged corpus files are skipped by
``DocumentIndex.ingest_paths``; a BEIR corpus is indexed once per collection.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

from rag.eval.answer_eval import (
    AnswerEval,
    Calibration,
    QAItem,
    answer_configs,
    calibrate,
    evaluate_answers,
    refusal_signals,
)
from rag.eval.datasets import BeirDataset, GoldItem, SquadItem
from rag.eval.relevance import matching_ref, same_source
from rag.eval.retrieval_eval import (
    EvalQuery,
    RetrievalEval,
    evaluate_retrieval,
    mode_searchers,
)
from rag.settings import Settings

Progress = Callable[[str, int, int], None]
BEIR_FORMAT = "beir"

# Published test-split nDCG@10 next to which our figures are printed (benchmarks README).
PUBLISHED_NDCG10: dict[str, dict[str, tuple[float, str]]] = {
    "scifact": {
        "bm25": (0.665, "BM25, BEIR paper (Thakur et al. 2021, Table 2)"),
        "dense": (0.645, "all-MiniLM-L6-v2, MTEB leaderboard"),
    },
}


@dataclass(frozen=True)
class GoldRun:
    corpus: str
    ingest: str  # one line: how many files ingested / unchanged / failed
    retrieval: RetrievalEval
    calibration: Calibration
    answers: AnswerEval | None


@dataclass(frozen=True)
class BenchmarkRun:
    dataset: str
    split: str
    retrieval: RetrievalEval | None
    published: dict[str, tuple[float, str]]
    calibration: Calibration | None = None
    answers: AnswerEval | None = None


def collection_name(label: str) -> str:
    """A valid Chroma collection name for a dataset (3-63 chars of [a-z0-9_-])."""
    slug = re.sub(r"[^a-z0-9_-]+", "_", label.lower()).strip("_-") or "data"
    return f"eval_{slug}"[:63]


def with_collection(settings: Settings, name: str) -> Settings:
    return settings.model_copy(
        update={"store": settings.store.model_copy(update={"collection": name})}
    )


def published_for(dataset: str) -> dict[str, tuple[float, str]]:
    key = dataset.lower().removeprefix("beir_")
    return PUBLISHED_NDCG10.get(key, {})


# -- gold set over a corpus folder ----------------------------------------------------------
def gold_queries(items: Sequence[GoldItem]) -> list[EvalQuery]:
    """Answerable gold questions as retrieval queries (unanswerable ones have no relevant unit)."""
    out = []
    for item in items:
        if not item.answerable or not item.relevant:
            continue
        out.append(
            EvalQuery(
                id=item.id,
                text=item.question,
                n_relevant=len(item.relevant),
                unit_of=lambda chunk, _refs=item.relevant: matching_ref(chunk.doc.metadata, _refs),
            )
        )
    return out


def gold_qa_items(items: Sequence[GoldItem]) -> list[QAItem]:
    def relevant_source(refs: Any) -> Callable[[Any], bool]:
        return lambda s: matching_ref({"source": s.source, "locator": s.locator}, refs) is not None

    return [
        QAItem(i.id, i.question, i.references, i.answerable, relevant_source(i.relevant))
        for i in items
    ]


def open_gold_index(corpus: Path, settings: Settings) -> tuple[Any, str]:
    """The corpus folder ingested into its own collection (unchanged files are skipped)."""
    from rag.store.index import DocumentIndex

    index = DocumentIndex(settings)
    report = index.ingest_paths([corpus])
    counts: dict[str, int] = {}
    for result in report.files:
        counts[result.status] = counts.get(result.status, 0) + 1
    failed = [f"{r.path}: {r.reason}" for r in report.files if r.status == "failed"]
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    if failed:
        summary += " (" + "; ".join(failed) + ")"
    return index, summary


def run_gold(
    items: Sequence[GoldItem],
    corpus: Path,
    modes: Sequence[str],
    settings: Settings,
    *,
    answers: bool = False,
    expand: Sequence[int] = (),
    chat_model: Any = None,
    progress: Progress | None = None,
) -> GoldRun:
    settings = with_collection(settings, collection_name(f"gold_{Path(corpus).name}"))
    index, ingest = open_gold_index(Path(corpus), settings)
    searchers, notes = mode_searchers(index, modes, settings)
    retrieval = evaluate_retrieval("gold", gold_queries(items), searchers, notes, progress)
    qa = gold_qa_items(items)
    calibration = calibrate("gold", refusal_signals(index, qa, settings))
    answer_eval = None
    if answers:
        configs = answer_configs(settings, expand)
        answer_eval = evaluate_answers("gold", index, qa, configs, chat_model, progress)
    return GoldRun(str(corpus), ingest, retrieval, calibration, answer_eval)


# -- BEIR layout ----------------------------------------------------------------------------
def beir_documents(data: BeirDataset) -> list[Document]:
    """One chunk per corpus record: title + " " + text, as BEIR's dense models see it.

    The whole record is stored (BM25 sees all of it); the embedding model truncates at its
    256-token window, which is the truncation BEIR applies for all-MiniLM-L6-v2.
    """
    docs = []
    for doc_id, (title, text) in data.corpus.items():
        content = f"{title} {text}".strip() if title else text
        content_hash = hashlib.sha256(content.encode("utf-8")).hexdigest()[:16]
        source = f"{data.name}/{doc_id}"
        docs.append(
            Document(
                page_content=content,
                metadata={
                    "source": source,
                    "doc_id": hashlib.sha256(source.encode("utf-8")).hexdigest()[:16],
                    "chunk_index": 0,
                    "locator": doc_id,
                    "content_hash": content_hash,
                    "format": BEIR_FORMAT,
                    "title": title,
                    "corpus_id": doc_id,
                },
                id=f"{data.name}:{doc_id}",
            )
        )
    return docs


def open_beir_index(data: BeirDataset, settings: Settings,
                    progress: Progress | None = None) -> Any:
    """The benchmark corpus in its own collection, embedded once (re-runs reuse it)."""
    from rag.store.index import DocumentIndex

    index = DocumentIndex(settings)
    add_records(index, data.name, beir_documents(data), progress)
    return index


def add_records(
    index: Any, name: str, docs: Sequence[Document], progress: Progress | None = None
) -> int:
    """Embed and store the records the collection lacks; returns how many were embedded.

    Benchmark records are not files, so they bypass ``ingest_paths``; one registry record for
    the whole corpus (its hash over all record ids and texts) is written last, as the index
    does per file, so ``index.version()`` changes with the corpus and the BM25 cache follows.
    """
    from rag.store.sources import document_id

    corpus_hash = hashlib.sha256()
    for doc in docs:
        corpus_hash.update(f"{doc.id}\0{doc.metadata['content_hash']}\n".encode())
    registry_id = document_id(f"benchmark:{name}")
    wanted = [str(d.id) for d in docs]
    present: set[str] = set()
    for start in range(0, len(wanted), 5000):
        present.update(index.collection.get(ids=wanted[start:start + 5000], include=[])["ids"])
    missing = sorted((d for d in docs if d.id not in present), key=lambda d: len(d.page_content))
    batch = 256  # length-sorted batches: least padding per forward pass
    for start in range(0, len(missing), batch):
        part = missing[start:start + batch]
        vectors = index.embeddings.embed_documents([d.page_content for d in part])
        index.collection.upsert(
            ids=[str(d.id) for d in part],
            embeddings=vectors,
            documents=[d.page_content for d in part],
            metadatas=[dict(d.metadata) for d in part],
        )
        if progress is not None:
            progress("embed corpus", min(start + batch, len(missing)), len(missing))
    index.registry.upsert(
        ids=[registry_id],
        embeddings=[[0.0]],
        documents=[f"benchmark:{name}"],
        metadatas=[{
            "source": f"benchmark:{name}",
            "file_hash": corpus_hash.hexdigest(),
            "chunking": f"{BEIR_FORMAT}|one chunk per record",
            "format": BEIR_FORMAT,
            "title": name,
            "chunks": len(docs),
            "size_bytes": sum(len(d.page_content) for d in docs),
            "ingested_at": time.time(),
            "seconds": 0.0,
        }],
    )
    return len(missing)


def beir_queries(data: BeirDataset) -> list[EvalQuery]:
    def corpus_id(chunk: Any) -> object:
        return chunk.doc.metadata.get("corpus_id", chunk.doc.metadata.get("source"))

    out = []
    for qid, text in data.queries.items():
        relevant = data.qrels[qid]
        out.append(
            EvalQuery(
                id=qid,
                text=text,
                n_relevant=len(relevant),
                unit_of=lambda c, _rel=relevant: (
                    corpus_id(c) if corpus_id(c) in _rel else None
                ),
                doc_key=corpus_id,
            )
        )
    return out


def run_beir(
    data: BeirDataset,
    split: str,
    modes: Sequence[str],
    settings: Settings,
    progress: Progress | None = None,
) -> BenchmarkRun:
    settings = with_collection(settings, collection_name(data.name))
    index = open_beir_index(data, settings, progress)
    searchers, notes = mode_searchers(index, modes, settings)
    retrieval = evaluate_retrieval(f"{data.name} ({split})", beir_queries(data), searchers,
                                   notes, progress)
    return BenchmarkRun(data.name, split, retrieval, published_for(data.name))


# -- SQuAD 2.0 subset -----------------------------------------------------------------------
def squad_qa_items(items: Sequence[SquadItem], data: BeirDataset) -> list[QAItem]:
    def from_paragraph(paragraph_id: str) -> Callable[[Any], bool]:
        return lambda s: same_source(s.source, f"{data.name}/{paragraph_id}")

    return [
        QAItem(i.id, i.question, i.answers, not i.is_impossible, from_paragraph(i.paragraph_id))
        for i in items
    ]


def run_squad(
    data: BeirDataset,
    items: Sequence[SquadItem],
    modes: Sequence[str],
    settings: Settings,
    *,
    answers: bool = False,
    expand: Sequence[int] = (),
    chat_model: Any = None,
    progress: Progress | None = None,
) -> BenchmarkRun:
    settings = with_collection(settings, collection_name(data.name))
    index = open_beir_index(data, settings, progress)
    retrieval = None
    if modes:
        searchers, notes = mode_searchers(index, modes, settings)
        retrieval = evaluate_retrieval(data.name, beir_queries(data), searchers, notes, progress)
    qa = squad_qa_items(items, data)
    calibration = calibrate(data.name, refusal_signals(index, qa, settings))
    answer_eval = None
    if answers:
        configs = answer_configs(settings, expand)
        answer_eval = evaluate_answers(data.name, index, qa, configs, chat_model, progress)
    return BenchmarkRun(data.name, "dev subset", retrieval, {}, calibration, answer_eval)
