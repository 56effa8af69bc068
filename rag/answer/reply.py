"""What goes into the answering pipeline and what comes out: the request, the question's state
between the pipeline's steps, the answer with its numbered sources, and the stream the reply
arrives in."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from langchain_core.messages import BaseMessage

from rag.answer.context import Passage
from rag.answer.extract import Candidate
from rag.answer.grounding import NOT_IN_DOCUMENTS
from rag.answer.refusal import RefusalFeatures
from rag.llm.presets import DecodingPreset, PromptPreset
from rag.retrieval.modes import RetrievedChunk

ReplyPath = Literal["generated", "quoted", "declined"]
PATH_LABELS: dict[str, str] = {
    "generated": "generated and verified against the sources",
    "quoted": "quoted from the sources",
    "declined": "declined: the documents do not contain the answer",
}


@dataclass(frozen=True)
class AskRequest:
    """One question with the per-request choices the UI and CLI expose."""

    question: str
    history: tuple[tuple[str, str], ...] = ()  # (question, answer) pairs, oldest first
    prompt_preset: str | None = None
    decoding_preset: str | None = None
    decoding_overrides: tuple[tuple[str, Any], ...] = ()  # e.g. (("temperature", 0.3),)
    retrieval_mode: str | None = None
    k: int | None = None
    min_score: float | None = None


@dataclass(frozen=True)
class Source:
    """A numbered source of an answer: what [n] points at."""

    number: int
    doc_id: str
    source: str
    title: str
    format: str
    locator: str
    score: float
    snippet: str
    highlights: tuple[tuple[int, int], ...]  # character spans of the passages the LLM saw
    chunk_id: str
    header: str = ""  # title and section or record identity the chunk was indexed under
    answer_span: tuple[int, int] | None = None  # where in the snippet the reply's answer is
    ocr: bool = False  # the text was read by OCR from a page image (it may hold misread words)


@dataclass(frozen=True)
class Answer:
    question: str
    standalone_question: str
    text: str
    path: ReplyPath
    sources: tuple[Source, ...]
    cited: tuple[int, ...]
    generated: str  # what the model produced, before the grounding check ("" if not called)
    reason: str  # why this path was taken
    relevance: float  # best dense closeness of the retrieved chunks to the question
    timings: dict[str, float] = field(default_factory=dict)
    answerable: float | None = None  # the refusal model's probability that the documents answer

    @property
    def path_label(self) -> str:
        return PATH_LABELS[self.path]


@dataclass(frozen=True)
class PreparedQuestion:
    """A question on its way through the pipeline: each step returns a copy with its part."""

    request: AskRequest
    standalone: str
    preset: PromptPreset  # loaded once per question: presets are files a user may edit
    decoding: DecodingPreset
    chunks: tuple[RetrievedChunk, ...] = ()
    ranked: tuple[Passage, ...] = ()  # every sentence of the retrieved chunks, closest first
    options: tuple[Candidate, ...] = ()  # what the answer scorer chooses among
    features: RefusalFeatures | None = None
    answerable: float | None = None
    passages: tuple[Passage, ...] = ()
    messages: tuple[BaseMessage, ...] = ()
    relevance: float = 0.0
    decline_reason: str = ""
    decline_reply: str = NOT_IN_DOCUMENTS
    timings: tuple[tuple[str, float], ...] = ()


class AnswerStream:
    """Iterate for the reply's text pieces as they are generated; ``.answer`` when done.

    When ``.answer.path`` is not "generated", the grounding check replaced the streamed text
    (with a quote or a refusal) and the UI re-renders ``.answer.text``.
    """

    def __init__(self, run: Callable[[list[Answer]], Iterator[str]]) -> None:
        self._run = run
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        holder: list[Answer] = []
        yield from self._run(holder)
        self.answer = holder[0]


def sources_of(
    chunks: Sequence[RetrievedChunk], passages: Sequence[Passage]
) -> tuple[Source, ...]:
    spans: dict[int, list[tuple[int, int]]] = {}
    for p in passages:
        spans.setdefault(p.number, []).append((p.start, p.end))
    from ingest.records import HEADER_KEY, record_at

    out = []
    for number, chunk in enumerate(chunks, start=1):
        meta = chunk.doc.metadata
        shown = sorted(spans.get(number, []))
        # A chunk packing several records cites the record the passage came from.
        locator = record_at(meta, shown[0][0]) if shown else str(meta.get("locator", ""))
        out.append(
            Source(
                number=number,
                doc_id=str(meta.get("doc_id", "")),
                source=str(meta.get("source", "")),
                title=str(meta.get("title", "")),
                format=str(meta.get("format", "")),
                locator=locator,
                score=float(chunk.dense_score if chunk.dense_score is not None else chunk.score),
                snippet=chunk.doc.page_content,
                highlights=tuple(shown),
                chunk_id=str(meta.get("chunk_id", chunk.doc.id or "")),
                header=str(meta.get(HEADER_KEY, "")),
                ocr=bool(meta.get("ocr", False)),
            )
        )
    return tuple(out)


def with_answer_span(sources: tuple[Source, ...], basis: Passage,
                     chunks: Sequence[RetrievedChunk]) -> tuple[Source, ...]:
    """``sources`` with the answer's span marked in its source, which then cites the record
    the answer came from: a chunk packing several records (rows of a table, entries of a
    registry) otherwise names the record of its first passage shown, often a neighbour."""
    from ingest.records import record_at

    meta = chunks[basis.number - 1].doc.metadata if basis.number <= len(chunks) else {}
    return tuple(
        replace(s, answer_span=(basis.start, basis.end),
                locator=record_at(meta, basis.start) if meta else s.locator)
        if s.number == basis.number else s
        for s in sources
    )
