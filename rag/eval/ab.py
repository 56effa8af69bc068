"""A/B runs: two configurations asked the same questions, compared side by side.

A run measures either answers (each question through the real ChatService, scored by the eval
harness's ``score_reply``) or retrieval only (each question through the configuration's
retrieval mode, scored by the harness's ``score_query``: no LLM, seconds instead of minutes).

Two callers drive the same run: the Evaluate page (``ui/evaluate.py``) asks one question per
script run, so a Cancel click lands between questions; ``python -m rag eval-ab``
(:mod:`rag.eval.ab_cli`) asks them all in a loop with :func:`run_all`. Both show
:func:`metric_rows` and :func:`diff_rows`, so a page and a terminal agree on every number.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rag.eval.answer_eval import AnswerRow, QAItem, score_reply, summarise_answers
from rag.eval.datasets import GoldItem, spread
from rag.eval.retrieval_eval import (
    EvalQuery,
    QueryResult,
    mode_searchers,
    score_query,
    summarise,
)
from rag.eval.runs import gold_qa_items, gold_queries
from rag.settings import Settings

ANSWERS = "answers"
RETRIEVAL = "retrieval"
MEASURES = {ANSWERS: "Answers (asks the LLM)", RETRIEVAL: "Retrieval only (no LLM, fast)"}
NOT_FOUND = "–"  # a rank when no relevant chunk came in the top 10
RETRIEVAL_DIFF_COLUMNS = ("id", "question", "rank A", "rank B", "top hit A", "top hit B",
                          "differs")
ANSWER_DIFF_COLUMNS = ("id", "question", "reference", "reply A", "reply B", "path A", "path B",
                       "correct A", "correct B", "differs")


@dataclass(frozen=True)
class ABConfig:
    """One side of the comparison: what a question is asked with."""

    name: str  # "A" or "B"
    prompt_preset: str
    decoding_preset: str | None  # None: the prompt preset's own decoding
    retrieval_mode: str
    backend: str
    reply: str = "generate"  # who writes the reply, resolved (see with_reply): generate or quote

    def setup(self, measure: str) -> str:
        """The parts of the configuration the measure uses."""
        if measure == RETRIEVAL:
            return f"{self.retrieval_mode} retrieval"
        if self.reply == "quote":  # no LLM is asked: prompt and decoding shape nothing
            return f"quote · {self.retrieval_mode} · {self.backend}"
        decoding = self.decoding_preset or "preset decoding"
        return f"{self.prompt_preset} · {decoding} · {self.retrieval_mode} · {self.backend}"

    def same_as(self, other: ABConfig, measure: str) -> bool:
        return self.setup(measure) == other.setup(measure)


def with_reply(config: ABConfig, reply: str, settings: Settings) -> ABConfig:
    """``config`` with ``reply`` (an ``answer.reply`` choice) resolved for its backend, as the
    chain resolves it: "auto" quotes with the small local model."""
    from rag.answer.chain import reply_mode

    chosen = replace(config, reply=reply)
    return replace(config, reply=reply_mode(config_settings(settings, chosen)))


@dataclass(frozen=True)
class RetrievalRow:
    """One question searched with one configuration."""

    config: str
    question_id: str
    result: QueryResult
    top_hit: str  # "file · locator" of the first chunk: what the answer would lean on most


Row = AnswerRow | RetrievalRow
Job = tuple[str, str]  # (question id, config name)


@dataclass
class EvalRun:
    """A run in progress (or finished); the Evaluate page keeps it in session state.

    Mutable on purpose: each step adds one row. Rows are keyed by (question, config), and
    ``lock`` lets one caller ask at a time: on the page, a click during a question starts a new
    script run while the old one is still asking (Streamlit's fast reruns), and neither may ask
    the same question twice or add a row after Cancel.
    """

    dataset: str
    measure: str
    items: list[QAItem]  # measure == "answers"
    queries: list[EvalQuery]  # measure == "retrieval": the answerable questions
    questions: dict[str, tuple[str, str]]  # question id -> (question, reference answer)
    configs: tuple[ABConfig, ABConfig]
    skipped: int = 0  # unanswerable questions a retrieval run leaves out (nothing to find)
    rows: dict[Job, Row] = field(default_factory=dict)
    cancelled: bool = False
    error: str = ""  # why the run stopped early, when a question failed
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def question_ids(self) -> list[str]:
        if self.measure == RETRIEVAL:
            return [q.id for q in self.queries]
        return [i.id for i in self.items]

    @property
    def jobs(self) -> list[Job]:
        """Interleaved (q1 A, q1 B, q2 A...) so a cancelled run stays comparable."""
        return [(q, c.name) for q in self.question_ids for c in self.configs]

    def next_job(self) -> Job | None:
        return next((job for job in self.jobs if job not in self.rows), None)

    @property
    def done(self) -> bool:
        return self.cancelled or bool(self.error) or self.next_job() is None

    @property
    def unit(self) -> str:
        return "answers" if self.measure == ANSWERS else "searches"

    def run_job(self, job: Job, settings: Settings, index: Any) -> None:
        """Ask one question with one configuration and keep the row (unless cancelled)."""
        question_id, config_name = job
        config = next(c for c in self.configs if c.name == config_name)
        if self.measure == RETRIEVAL:
            query = next(q for q in self.queries if q.id == question_id)
            row: Row = search_one(index, settings, config, query)
        else:
            item = next(i for i in self.items if i.id == question_id)
            row = ask_one(index, settings, config, item)
        if not self.cancelled:  # a Cancel click while this question ran: the run ended there
            self.rows[job] = row


def plan_run(measure: str, dataset: str, gold: Sequence[GoldItem], limit: int,
             configs: tuple[ABConfig, ABConfig]) -> EvalRun:
    """The questions to ask: ``limit`` of them spread over the set (over its answerable ones
    when only retrieval is measured, since an unanswerable question has nothing to find)."""
    from rag.errors import ConfigError

    if measure not in MEASURES:
        raise ConfigError(f"unknown measure {measure!r}; choose from: {', '.join(MEASURES)}")
    if measure == RETRIEVAL:
        findable = [i for i in gold if i.answerable and i.relevant]
        if not findable:
            raise ConfigError(f"{dataset} has no answerable question with relevant passages, "
                              "so there is no retrieval to measure")
        items = spread(findable, limit)
        queries, qa_items, skipped = gold_queries(items), [], len(gold) - len(findable)
    else:
        items = spread(list(gold), limit)
        queries, qa_items, skipped = [], gold_qa_items(items), 0
    return EvalRun(
        dataset=dataset,
        measure=measure,
        items=qa_items,
        queries=queries,
        questions={i.id: (i.question, i.answer) for i in items},
        configs=configs,
        skipped=skipped,
    )


def run_all(run: EvalRun, settings: Settings, index: Any,
            progress: Callable[[str, int, int], None] | None = None) -> EvalRun:
    """Ask every remaining job in order; a failing question ends the run with its reason
    (``run.error``), keeping the rows answered before it, as the page does."""
    from ingest.errors import IngestError
    from rag.errors import RagError

    total = len(run.jobs)
    if progress is not None:  # the bar from the start, so its rate counts the first question
        progress(f"{run.unit} ({run.dataset})", len(run.rows), total)
    while not (run.cancelled or run.error) and (job := run.next_job()) is not None:
        try:
            run.run_job(job, settings, index)
        except (RagError, IngestError) as exc:
            run.error = str(exc)
            break
        if progress is not None:
            progress(f"{run.unit} ({run.dataset})", len(run.rows), total)
    return run


def config_settings(settings: Settings, config: ABConfig) -> Settings:
    """The base settings with this side's backend, retrieval mode and reply."""
    llm = settings.llm
    if config.backend != llm.backend:
        # The base model, URL and key belong to its backend; another backend starts bare.
        llm = llm.model_copy(update={"backend": config.backend, "model": "", "base_url": None,
                                     "api_key": None})
    retrieval = settings.retrieval.model_copy(update={"mode": config.retrieval_mode})
    answer = settings.answer.model_copy(update={"reply": config.reply})
    return settings.model_copy(update={"llm": llm, "retrieval": retrieval, "answer": answer})


def ask_one(index: Any, settings: Settings, config: ABConfig, item: QAItem) -> AnswerRow:
    """One question through the real ChatService, scored by the harness."""
    from rag.answer.chain import ChatService
    from rag.answer.reply import AskRequest

    # A fresh service per question is cheap: it holds no model (the LLM factory caches it).
    service = ChatService(index, settings=config_settings(settings, config))
    start = time.perf_counter()
    answer = service.ask(
        AskRequest(
            question=item.question,
            prompt_preset=config.prompt_preset,
            decoding_preset=config.decoding_preset,
            retrieval_mode=config.retrieval_mode,
        )
    )
    seconds = time.perf_counter() - start
    by_number = {s.number: s for s in answer.sources}
    return score_reply(
        item,
        config.name,
        reply=answer.text,
        path=answer.path,
        declined=answer.path == "declined",
        cited_sources=[by_number[n] for n in answer.cited if n in by_number],
        seconds=seconds,
    )


def search_one(index: Any, settings: Settings, config: ABConfig, query: EvalQuery
               ) -> RetrievalRow:
    """One question through the configuration's retrieval mode, scored as the CLI scores it."""
    from rag.errors import ConfigError

    searchers, notes = mode_searchers(index, [config.retrieval_mode],
                                      config_settings(settings, config))
    if config.retrieval_mode not in searchers:
        raise ConfigError("; ".join(notes) or f"no searcher for {config.retrieval_mode!r}")
    start = time.perf_counter()
    chunks = searchers[config.retrieval_mode](query.text)
    latency_ms = (time.perf_counter() - start) * 1000
    if chunks:
        meta = chunks[0].doc.metadata
        top = " · ".join(p for p in (Path(str(meta.get("source", ""))).name,
                                     str(meta.get("locator", ""))) if p)
    else:
        top = "(nothing found)"
    return RetrievalRow(config.name, query.id,
                        score_query(query, config.retrieval_mode, chunks, latency_ms), top)


# -- results ---------------------------------------------------------------------------------
def common_questions(run: EvalRun) -> list[str]:
    """Questions both configurations have a row for, in run order: a cancelled run is compared
    like for like."""
    return [q for q in run.question_ids if all((q, c.name) in run.rows for c in run.configs)]


def metric_rows(run: EvalRun) -> list[dict[str, Any]]:
    """One row per configuration: the harness's summary over the common questions."""
    common = common_questions(run)
    records = []
    for config in run.configs:
        rows = [run.rows[(q, config.name)] for q in common]
        if run.measure == RETRIEVAL:
            record = summarise(config.retrieval_mode,
                               [r.result for r in rows if isinstance(r, RetrievalRow)]).row()
            record.pop("mode")
            record.pop("n")
        else:
            record = summarise_answers(config.name,
                                       [r for r in rows if isinstance(r, AnswerRow)]).row()
            record.pop("config")
        records.append({"config": config.name, "setup": config.setup(run.measure),
                        "questions": len(rows), **record})
    return records


def diff_columns(run: EvalRun) -> tuple[str, ...]:
    return RETRIEVAL_DIFF_COLUMNS if run.measure == RETRIEVAL else ANSWER_DIFF_COLUMNS


def diff_rows(run: EvalRun) -> list[dict[str, Any]]:
    """One row per question both configurations answered; ``differs`` marks the interesting
    ones (another rank, or another verdict or reply path)."""
    a, b = (c.name for c in run.configs)
    records = []
    for qid in common_questions(run):
        row_a, row_b = run.rows[(qid, a)], run.rows[(qid, b)]
        question, reference = run.questions[qid]
        if isinstance(row_a, RetrievalRow) and isinstance(row_b, RetrievalRow):
            rank_a, rank_b = row_a.result.first_rank, row_b.result.first_rank
            records.append({
                "id": qid, "question": question,
                "rank A": _rank(rank_a), "rank B": _rank(rank_b),
                "top hit A": row_a.top_hit, "top hit B": row_b.top_hit,
                "differs": rank_a != rank_b,
            })
        elif isinstance(row_a, AnswerRow) and isinstance(row_b, AnswerRow):
            records.append({
                "id": qid, "question": question,
                "reference": reference if row_a.answerable else "(unanswerable)",
                "reply A": row_a.reply, "reply B": row_b.reply,
                "path A": row_a.path, "path B": row_b.path,
                "correct A": answer_ok(row_a), "correct B": answer_ok(row_b),
                "differs": answer_ok(row_a) != answer_ok(row_b) or row_a.path != row_b.path,
            })
    return records


def _rank(rank: int | None) -> str:
    return NOT_FOUND if rank is None else str(rank)


def answer_ok(row: AnswerRow) -> bool:
    """Right for its kind: answered correctly, or declined an unanswerable question."""
    return row.correct if row.answerable else row.declined
