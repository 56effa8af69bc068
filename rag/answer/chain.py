"""The question-answering pipeline: one entry point for the app, the CLI and the tests.

question (+ history) → standalone question → retrieval → calibrated refusal → neighbour
expansion (optional) → context selection → prompt preset → LLM (streamed) → grounding check
→ reply with numbered sources.

The preparation steps are LangChain runnables composed with ``|``; the LLM step is the backend's
chat model piped into a string parser, so any LangChain chat model plugs in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableLambda

from rag.answer.context import Passage, format_context, score_sentences, select_passages
from rag.answer.extract import (
    DEFAULT_SCORER_PATH,
    Candidate,
    candidates,
    extract_reply,
    load_answer_scorer,
)
from rag.answer.followup import rewrite_by_llm, rewrite_by_rule
from rag.answer.grounding import NOT_IN_DOCUMENTS, check_grounding, is_decline
from rag.answer.questions import check_question_length
from rag.answer.refusal import (
    DEFAULT_MODEL_PATH,
    RefusalFeatures,
    load_refusal_model,
    refusal_features,
    term_coverage,
)
from rag.errors import BackendError, RagError
from rag.llm.presets import DecodingPreset, PromptPreset, load_decoding_preset, load_prompt_preset
from rag.retrieval.expand import expand_neighbours
from rag.retrieval.modes import RetrievedChunk, retrieve
from rag.settings import Settings, get_settings

T = TypeVar("T")

# A missing word is named to the user only when it is specific (rarer in English than about
# once per million words, see rag.answer.refusal.specificity): a common word missing is no reason a
# user can act on.
MISSING_TERM_SHOWN = 0.5

# Sentences the answer scorer chooses among: the closest ones (the scorer was fitted on as many).
EXTRACT_CANDIDATES = 20

ReplyPath = Literal["generated", "quoted", "declined"]
PATH_LABELS: dict[str, str] = {
    "generated": "generated and verified against the sources",
    "quoted": "quoted from the sources (no generated answer could be verified)",
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
class _Prepared:
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


class ChatService:
    """Answers questions over one document index with one LLM backend."""

    def __init__(
        self,
        index: Any,
        chat_model: BaseChatModel | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.index = index
        self._chat_model = chat_model
        self._lock = threading.Lock()
        self.prepare_chain: Runnable = (
            RunnableLambda(self._rewrite).with_config(run_name="rewrite")
            | RunnableLambda(self._retrieve).with_config(run_name="retrieve")
            | RunnableLambda(self._judge).with_config(run_name="refusal")
            | RunnableLambda(self._expand).with_config(run_name="expand_neighbours")
            | RunnableLambda(self._select).with_config(run_name="select_context")
            | RunnableLambda(self._render).with_config(run_name="render_prompt")
        )

    # -- configuration -------------------------------------------------------------------
    @property
    def backend(self) -> str:
        return self.settings.llm.backend

    def _strategy(self) -> str:
        chosen = self.settings.answer.context_strategy
        if chosen != "auto":
            return chosen
        return "sentences" if self.backend == "local" else "chunks"

    def _rewrite_mode(self) -> str:
        chosen = self.settings.answer.followup_rewrite
        return chosen if chosen != "auto" else ("rule" if self.backend == "local" else "llm")

    def _decoding(self, request: AskRequest, preset: PromptPreset) -> DecodingPreset:
        name = request.decoding_preset or preset.decoding or self.settings.decoding_preset
        decoding = load_decoding_preset(name)
        if preset.max_new_tokens is not None and preset.max_new_tokens < decoding.max_new_tokens:
            decoding = decoding.model_copy(update={"max_new_tokens": preset.max_new_tokens})
        if request.decoding_overrides:
            decoding = decoding.model_copy(update=dict(request.decoding_overrides))
        return decoding

    def chat_model(self, decoding: DecodingPreset) -> BaseChatModel:
        if self._chat_model is not None:
            return _bind_decoding(self._chat_model, decoding)
        from rag.llm import get_chat_model

        return get_chat_model(self.settings, decoding)

    # -- the preparation steps (runnables) ------------------------------------------------
    def _rewrite(self, request: AskRequest) -> _Prepared:
        start = time.perf_counter()
        preset = load_prompt_preset(request.prompt_preset or self.settings.prompt_preset)
        decoding = self._decoding(request, preset)
        standalone = request.question.strip()
        if request.history:
            if self._rewrite_mode() == "llm":
                model = self.chat_model(decoding)
                standalone = rewrite_by_llm(standalone, request.history, model)
            else:
                standalone = rewrite_by_rule(standalone, request.history)
        return _Prepared(
            request, standalone, preset, decoding,
            timings=(("rewrite", time.perf_counter() - start),),
        )

    def _retrieve(self, prepared: _Prepared) -> _Prepared:
        start = time.perf_counter()
        r = prepared.request
        cfg = self.settings.retrieval

        def search(text: str) -> tuple[list[RetrievedChunk], float]:
            chunks = retrieve(
                self.index,
                text,
                mode=r.retrieval_mode or cfg.mode,
                k=r.k or cfg.k,
                fetch_k=cfg.fetch_k,
                min_score=cfg.min_score if r.min_score is None else r.min_score,
                settings=self.settings,
            )
            scores = [c.dense_score for c in chunks if c.dense_score is not None]
            return chunks, max(scores, default=0.0)

        standalone = prepared.standalone
        chunks, relevance = search(standalone)
        asked = r.question.strip()
        if standalone != asked:
            # A question after another may start a new subject: the previous question's words
            # then pull retrieval away from it. Whichever wording finds the closer passages is
            # the one answered (measured on follow-up pairs and topic switches, see README).
            own, own_relevance = search(asked)
            if own_relevance > relevance:
                standalone, chunks, relevance = asked, own, own_relevance
        return replace(
            prepared,
            standalone=standalone,
            chunks=tuple(chunks),
            relevance=relevance,
            decline_reason="" if chunks else "retrieval found no passage above the minimum score",
            timings=(*prepared.timings, ("retrieve", time.perf_counter() - start)),
        )

    def _judge(self, prepared: _Prepared) -> _Prepared:
        """Score every sentence of the retrieved chunks (the answer candidates), then ask the
        refusal model whether the documents answer (rag/answer/refusal.py says from what)."""
        if not prepared.chunks:
            return prepared
        start = time.perf_counter()
        from rag.store.bm25 import get_bm25_cache
        from rag.store.embeddings import get_embeddings

        docs = [c.doc for c in prepared.chunks]
        ranked = score_sentences(prepared.standalone, docs, get_embeddings(self.settings))
        vocabulary = get_bm25_cache().index_for(self.index, self.settings)
        coverage = term_coverage(prepared.standalone, docs, vocabulary)
        from ingest.records import record_spans

        options = candidates(ranked, [d.page_content for d in docs], EXTRACT_CANDIDATES,
                             [[end for _, end, _ in record_spans(d.metadata)] for d in docs])
        scorer = self._fitted(self.settings.answer.answer_scorer or DEFAULT_SCORER_PATH,
                              load_answer_scorer)
        features = refusal_features(
            prepared.relevance, ranked[0].score if ranked else 0.0, coverage,
            scorer.confidence(prepared.standalone, options) if scorer is not None else 0.0,
        )
        model = self._fitted(self.settings.answer.refusal_model or DEFAULT_MODEL_PATH,
                             load_refusal_model)
        answerable = model.probability(features) if model is not None else None
        reason, reply = "", NOT_IN_DOCUMENTS
        if model is not None and answerable is not None and self.settings.answer.refuse \
                and answerable < model.threshold:
            reason = (
                f"the refusal model gives {answerable:.0%} that the documents answer "
                f"(threshold {model.threshold:.0%})"
            )
            if coverage.missing_term and coverage.rarest_missing >= MISSING_TERM_SHOWN:
                # A reason the user can act on: the most specific word no passage found holds.
                reason += f"; no passage found mentions \"{coverage.missing_term}\""
                reply = (
                    f"{NOT_IN_DOCUMENTS[:-1]}: no passage found mentions "
                    f"\"{coverage.missing_term}\"."
                )
        return replace(
            prepared,
            ranked=tuple(ranked),
            options=tuple(options),
            features=features,
            answerable=answerable,
            decline_reason=reason,
            decline_reply=reply,
            timings=(*prepared.timings, ("refusal", time.perf_counter() - start)),
        )

    def _fitted(self, path: Path, load: Callable[[Path], T]) -> T | None:
        """A fitted model (refusal model, answer scorer) from ``path``: required while refusal
        is on; with it off, used when the file exists and skipped otherwise, since the fitter
        runs the chain this way before there is one (its figures are still reported)."""
        return load(path) if self.settings.answer.refuse or path.is_file() else None

    def _expand(self, prepared: _Prepared) -> _Prepared:
        # After the refusal check, so the relevance it judges is that of the retrieved chunks.
        neighbours = self.settings.retrieval.expand_neighbours
        if prepared.decline_reason or neighbours == 0:
            return prepared
        start = time.perf_counter()
        chunks = expand_neighbours(self.index, prepared.chunks, neighbours)
        return replace(
            prepared,
            chunks=tuple(chunks),
            # Numbered by the old chunk list: _select scores the sentences again, and the
            # answer is extracted from the passages shown.
            ranked=(),
            options=(),
            timings=(*prepared.timings, ("expand", time.perf_counter() - start)),
        )

    def _select(self, prepared: _Prepared) -> _Prepared:
        if prepared.decline_reason:
            return prepared
        start = time.perf_counter()
        from rag.store.embeddings import get_embeddings

        embeddings = get_embeddings(self.settings)
        passages = select_passages(
            prepared.standalone,
            [c.doc for c in prepared.chunks],
            embeddings,
            strategy=self._strategy(),  # type: ignore[arg-type]
            ranked=prepared.ranked or None,
            max_passages=self.settings.answer.max_passages,
            token_budget=self._context_budget(prepared),
            count_tokens=self._count_tokens,
        )
        return replace(
            prepared,
            passages=tuple(passages),
            timings=(*prepared.timings, ("select", time.perf_counter() - start)),
        )

    def _render(self, prepared: _Prepared) -> _Prepared:
        if prepared.decline_reason:
            return prepared
        history = self._trimmed_history(prepared.request) if self._strategy() == "chunks" else []
        messages = prepared.preset.render(
            context=format_context(prepared.passages),
            question=prepared.standalone,
            history=history,
        )
        return replace(prepared, messages=tuple(messages))

    # -- budgets -------------------------------------------------------------------------
    def _count_tokens(self, text: str) -> int:
        model = self._chat_model
        counter = getattr(model, "count_tokens", None) if model is not None else None
        if counter is not None:
            return int(counter(text))
        from rag.store.embeddings import get_embeddings

        # The embedding tokenizer is loaded anyway; wordpiece counts are close to BPE counts.
        return get_embeddings(self.settings).count_tokens(text)

    def _context_budget(self, prepared: _Prepared) -> int:
        fixed = self._count_tokens(prepared.preset.fixed_text()) + self._count_tokens(
            prepared.request.question
        )
        budget = self.settings.llm.context_tokens - prepared.decoding.max_new_tokens - fixed - 64
        return max(budget, 64)

    def _trimmed_history(self, request: AskRequest) -> list[tuple[str, str]]:
        budget = self.settings.llm.context_tokens // 4
        kept: list[tuple[str, str]] = []
        for q, a in reversed(request.history):
            cost = self._count_tokens(q) + self._count_tokens(a)
            if cost > budget:
                break
            kept.insert(0, (q, a))
            budget -= cost
        return kept

    # -- answering -----------------------------------------------------------------------
    def stream(self, request: AskRequest, cancel: threading.Event | None = None) -> AnswerStream:
        """Start answering; iterate the result for text pieces, then read ``.answer``."""
        return AnswerStream(lambda out: self._generate(request, cancel, out))

    def ask(self, request: AskRequest) -> Answer:
        stream = self.stream(request)
        for _ in stream:
            pass
        assert stream.answer is not None
        return stream.answer

    def _generate(
        self, request: AskRequest, cancel: threading.Event | None, out: list[Answer]
    ) -> Iterator[str]:
        started = time.perf_counter()
        if not request.question.strip():
            raise RagError("The question is empty.")
        check_question_length(request.question, self.settings)
        prepared: _Prepared = self.prepare_chain.invoke(request)
        timings = dict(prepared.timings)
        sources = _sources(prepared.chunks, prepared.passages)
        if prepared.decline_reason:
            yield prepared.decline_reply
            out.append(self._answer(prepared, prepared.decline_reply, "declined", sources, (), "",
                                    prepared.decline_reason, timings, started))
            return
        model = self.chat_model(prepared.decoding)
        answer_chain = model | StrOutputParser()
        pieces: list[str] = []
        gen_start = time.perf_counter()
        token_stream = answer_chain.stream(list(prepared.messages))
        try:
            for piece in token_stream:
                if not pieces:
                    timings["first_token"] = time.perf_counter() - started
                pieces.append(piece)
                yield piece
                if cancel is not None and cancel.is_set():
                    break
        except RagError:
            raise
        except Exception as exc:  # the one place backend failures become our error type
            raise BackendError(f"{self.backend} backend failed: {type(exc).__name__}") from exc
        finally:
            token_stream.close()  # stops a local generation thread when the user pressed Stop
        timings["generate"] = time.perf_counter() - gen_start
        generated = "".join(pieces).strip()
        text, path, cited, reason, basis = self._verify(generated, prepared)
        if basis is not None:
            sources = _with_answer_span(sources, basis)
        out.append(self._answer(prepared, text, path, sources, cited, generated, reason,
                                timings, started))

    def _verify(
        self, generated: str, prepared: _Prepared
    ) -> tuple[str, ReplyPath, tuple[int, ...], str, Passage | None]:
        """The reply: the model's answer when the sources support it, else the sentence the
        answer scorer (rag/answer/extract.py) judges most likely to answer, quoted with its source.
        Also returns the passage the reply rests on, to highlight in its source."""
        question, passages = prepared.standalone, prepared.passages
        scorer = load_answer_scorer(self.settings.answer.answer_scorer or DEFAULT_SCORER_PATH)
        extracted = scorer.best(question, self._candidates(prepared))
        small = self._strategy() == "sentences"
        if is_decline(generated):
            # The refusal model already judged that the documents answer. A large model that
            # read whole chunks and disagrees is believed; a small one's "no" is not (it says
            # so of passages that answer), and the best sentence is quoted instead.
            if small and extracted is not None:
                return (extract_reply(extracted), "quoted", (extracted.number,),
                        "the model found no answer; the best sentence is quoted", extracted)
            return NOT_IN_DOCUMENTS, "declined", (), "the model found no answer in the context", \
                None
        # Sentences for a small model: its answer must agree with the one sentence that best
        # answers the question by itself (measured: on the dev set every answer of SmolLM2's
        # that passed the looser all-cited-passages check and was wrong took its fact from
        # another sentence). Whole chunks for a large model: it may combine them.
        anchor = scorer.best(question, [Candidate(p) for p in passages]) if small else None
        verdict = check_grounding(
            prepared.preset.answer_part(generated),
            passages,
            question=question,
            min_support=self.settings.answer.min_support,
            anchor=anchor,
        )
        if verdict.supported:
            cited = verdict.cited
            text = generated
            if not cited and verdict.best is not None:
                cited = (verdict.best.number,)
                text = f"{generated} [{verdict.best.number}]"
            return text, "generated", cited, verdict.reason, anchor or verdict.best
        if extracted is None:
            return NOT_IN_DOCUMENTS, "declined", (), verdict.reason, None
        # The generated answer is not trusted, so neither is its choice of citation: lead with
        # the sentence that best answers the question.
        return (extract_reply(extracted), "quoted", (extracted.number,), verdict.reason,
                extracted)

    @staticmethod
    def _candidates(prepared: _Prepared) -> list[Candidate]:
        """What the answer scorer chooses among: the closest sentences, alone and with the
        sentence after each (or, after neighbour expansion renumbered the chunks, the
        passages the model was shown)."""
        return list(prepared.options) or [Candidate(p) for p in prepared.passages]

    def _answer(
        self,
        prepared: _Prepared,
        text: str,
        path: ReplyPath,
        sources: tuple[Source, ...],
        cited: tuple[int, ...],
        generated: str,
        reason: str,
        timings: dict[str, float],
        started: float,
    ) -> Answer:
        timings["total"] = time.perf_counter() - started
        return Answer(
            question=prepared.request.question,
            standalone_question=prepared.standalone,
            text=text,
            path=path,
            sources=sources,
            cited=cited,
            generated=generated,
            reason=reason,
            relevance=prepared.relevance,
            answerable=prepared.answerable,
            timings=timings,
        )


def _bind_decoding(model: BaseChatModel, decoding: DecodingPreset) -> BaseChatModel:
    """Apply a decoding preset to a ready-made model when it knows how."""
    apply = getattr(model, "with_decoding", None)
    return apply(decoding) if apply is not None else model


def _with_answer_span(sources: tuple[Source, ...], basis: Passage) -> tuple[Source, ...]:
    return tuple(
        replace(s, answer_span=(basis.start, basis.end)) if s.number == basis.number else s
        for s in sources
    )


def _sources(
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
