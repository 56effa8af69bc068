"""A whole realdocs run: ingest the documents, score retrieval per mode and per format, check
the citation's locator, then the refusal calibration and (optionally) answers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.eval.answer_eval import (
    AnswerEval,
    Calibration,
    QAItem,
    answer_configs,
    calibrate,
    evaluate_answers,
    refusal_signals,
)
from rag.eval.metrics import mean
from rag.eval.realdocs import (
    RealDocs,
    RealDocsItem,
    answer_found,
    answerable,
    locator_matches,
    query_text,
    record_locator,
    supporting_place,
    unit_of,
)
from rag.eval.relevance import same_source
from rag.eval.retrieval_eval import DEPTH, EvalQuery, RetrievalEval, evaluate_retrieval
from rag.settings import Settings

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class FormatRow:
    """Retrieval of one mode on the questions of one format."""

    mode: str
    format: str
    questions: int
    recall_at_1: float
    recall_at_5: float
    locator_ok: float  # share of questions whose first correct passage (top 10) cites right

    def row(self) -> dict[str, Any]:
        return {"mode": self.mode, "format": self.format, "n": self.questions,
                "R@1": self.recall_at_1, "R@5": self.recall_at_5,
                "locator ok": self.locator_ok}


@dataclass(frozen=True)
class RealDocsRun:
    corpus: str
    ingest: str
    chunks: int
    retrieval: RetrievalEval
    by_format: tuple[FormatRow, ...]
    calibration: Calibration
    answers: AnswerEval | None


def realdocs_queries(items: Sequence[RealDocsItem]) -> list[EvalQuery]:
    by_id = {item.id: item for item in items}
    return [EvalQuery(id=item.id, text=query_text(item, by_id), n_relevant=1,
                      unit_of=unit_of(item)) for item in answerable(items)]


def realdocs_qa_items(items: Sequence[RealDocsItem]) -> list[QAItem]:
    def relevant_source(item: RealDocsItem) -> Callable[[Any], bool]:
        return lambda s: any(same_source(s.source, p.file) for p in item.places)

    return [QAItem(i.id, i.question, i.references, not i.unanswerable, relevant_source(i),
                   follows=i.follow_up_of, answer_rule=answer_found) for i in items]


def first_correct(item: RealDocsItem, chunks: Sequence[Any], documents: Path
                  ) -> tuple[int | None, bool | None]:
    """1-based rank of the first correct passage in the top ranks and whether it cites the gold
    place ((None, None) when none is correct)."""
    for rank, chunk in enumerate(chunks[:DEPTH], start=1):
        meta, text = chunk.doc.metadata, chunk.doc.page_content
        place = supporting_place(meta, text, item)
        if place is not None:
            locator = record_locator(meta, text, item, place)
            return rank, locator_matches(place, meta, locator, documents)
    return None, None


def first_correct_locator_ok(item: RealDocsItem, chunks: Sequence[Any], documents: Path
                             ) -> bool | None:
    """Whether the first correct passage in the top ranks cites the gold place (None: none
    correct)."""
    return first_correct(item, chunks, documents)[1]


def by_format_rows(retrieval: RetrievalEval, items: Sequence[RealDocsItem],
                   locator_ok: dict[tuple[str, str], bool | None]) -> list[FormatRow]:
    fmt = {item.id: item.format for item in items}
    follow_ups = {item.id for item in items if item.follow_up_of}
    rows = []
    for summary in retrieval.summaries:
        results = [r for r in retrieval.per_query if r.mode == summary.mode]
        # Follow-ups (asked after another question, searched as the chain rewrites them) are
        # also a group of their own.
        groups = ["all", *sorted({fmt[r.query_id] for r in results}),
                  *(["follow-ups"] if follow_ups else [])]
        for name in groups:
            chosen = [r for r in results if name == "all" or fmt[r.query_id] == name
                      or (name == "follow-ups" and r.query_id in follow_ups)]
            located = [locator_ok.get((summary.mode, r.query_id)) for r in chosen]
            rows.append(FormatRow(
                mode=summary.mode, format=name, questions=len(chosen),
                recall_at_1=mean(r.recall_at_1 for r in chosen),
                recall_at_5=mean(r.recall_at_5 for r in chosen),
                locator_ok=mean(1.0 if ok else 0.0 for ok in located if ok is not None),
            ))
    return rows


def run_realdocs(
    data: RealDocs,
    modes: Sequence[str],
    settings: Settings,
    *,
    answers: bool = False,
    expand: Sequence[int] = (),
    chat_model: Any = None,
    progress: Progress | None = None,
) -> RealDocsRun:
    from rag.eval.retrieval_eval import mode_searchers
    from rag.eval.runs import collection_name, open_gold_index, with_collection

    settings = with_collection(settings, collection_name(f"realdocs_{data.root.name}"))
    index, ingest = open_gold_index(data.documents, settings)
    searchers, notes = mode_searchers(index, modes, settings)
    items = list(data.items)
    by_id = {item.id: item for item in items}
    seen: dict[tuple[str, str], list[Any]] = {}

    def recording(mode: str, search: Callable[[str], list[Any]]) -> Callable[[str], list[Any]]:
        def run(text: str) -> list[Any]:
            chunks = search(text)
            seen[(mode, text)] = chunks
            return chunks
        return run

    recorded = {mode: recording(mode, search) for mode, search in searchers.items()}
    queries = realdocs_queries(items)
    retrieval = evaluate_retrieval("realdocs", queries, recorded, notes, progress)
    located = {
        (mode, q.id): first_correct_locator_ok(by_id[q.id], seen.get((mode, q.text), []),
                                               data.documents)
        for mode in recorded for q in queries
    }
    qa = realdocs_qa_items(items)
    calibration = calibrate("realdocs", refusal_signals(index, qa, settings))
    answer_eval = None
    if answers:
        answer_eval = evaluate_answers("realdocs", index, qa, answer_configs(settings, expand),
                                       chat_model, progress)
    return RealDocsRun(str(data.root), ingest, index.count(),
                       retrieval, tuple(by_format_rows(retrieval, items, located)),
                       calibration, answer_eval)
