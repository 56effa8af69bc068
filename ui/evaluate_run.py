"""What an Evaluate run is: two configurations, the questions, the rows answered so far.

A run measures either answers (each question through the real ChatService, scored by the eval
harness's ``score_reply``) or retrieval only (each question through the configuration's
retrieval mode, scored by the harness's ``score_query``: no LLM, seconds instead of minutes).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.eval.answer_eval import AnswerRow, QAItem, score_reply
from rag.eval.retrieval_eval import EvalQuery, QueryResult, mode_searchers, score_query
from rag.settings import Settings
from ui.resources import get_service

RUN_KEY = "eval_run"  # session state: the current EvalRun
ANSWERS = "answers"
RETRIEVAL = "retrieval"
MEASURES = {ANSWERS: "Answers (asks the LLM)", RETRIEVAL: "Retrieval only (no LLM, fast)"}


@dataclass(frozen=True)
class ABConfig:
    """One side of the comparison: what a question is asked with."""

    name: str  # "A" or "B"
    prompt_preset: str
    decoding_preset: str | None  # None: the prompt preset's own decoding
    retrieval_mode: str
    backend: str

    def setup(self, measure: str) -> str:
        """The parts of the configuration the measure uses."""
        if measure == RETRIEVAL:
            return f"{self.retrieval_mode} retrieval"
        decoding = self.decoding_preset or "preset decoding"
        return f"{self.prompt_preset} · {decoding} · {self.retrieval_mode} · {self.backend}"

    def same_as(self, other: ABConfig, measure: str) -> bool:
        return self.setup(measure) == other.setup(measure)


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
    """A run in progress (or finished), kept in session state between script runs.

    Mutable on purpose: each script run adds one row. Rows are keyed by (question, config), and
    ``lock`` lets one script run ask at a time: a click during a question starts a new script
    run while the old one is still asking (Streamlit's fast reruns), and neither may ask the
    same question twice or add a row after Cancel.
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

    def run_job(self, job: Job, settings: Settings, collection: str, index: Any) -> None:
        """Ask one question with one configuration and keep the row (unless cancelled)."""
        question_id, config_name = job
        config = next(c for c in self.configs if c.name == config_name)
        if self.measure == RETRIEVAL:
            query = next(q for q in self.queries if q.id == question_id)
            row: Row = search_one(index, settings, config, query)
        else:
            item = next(i for i in self.items if i.id == question_id)
            row = ask_one(settings, collection, config, item)
        if not self.cancelled:  # a Cancel click while this question ran: the run ended there
            self.rows[job] = row


def config_settings(settings: Settings, config: ABConfig) -> Settings:
    """The session's settings with this side's backend and retrieval mode."""
    llm = settings.llm
    if config.backend != llm.backend:
        # The sidebar's model, URL and key belong to its backend; another backend starts bare.
        llm = llm.model_copy(update={"backend": config.backend, "model": "", "base_url": None,
                                     "api_key": None})
    retrieval = settings.retrieval.model_copy(update={"mode": config.retrieval_mode})
    return settings.model_copy(update={"llm": llm, "retrieval": retrieval})


def ask_one(settings: Settings, collection: str, config: ABConfig, item: QAItem) -> AnswerRow:
    """One question through the real ChatService, scored by the harness."""
    from rag.chain import AskRequest

    service = get_service(config_settings(settings, config), collection)
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
