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
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableLambda

from rag.answer.checks import grounding_anchor, judge_answerable, quote_reply, verify_reply
from rag.answer.context import format_context, select_passages
from rag.answer.followup import rewrite_by_llm, rewrite_by_rule
from rag.answer.grounding import DoomedAnswer
from rag.answer.questions import check_question_length
from rag.answer.reply import (
    Answer,
    AnswerStream,
    AskRequest,
    PreparedQuestion,
    ReplyPath,
    Source,
    sources_of,
    with_answer_span,
)
from rag.errors import BackendError, RagError
from rag.llm.presets import DecodingPreset, PromptPreset, load_decoding_preset, load_prompt_preset
from rag.retrieval.expand import expand_neighbours
from rag.retrieval.modes import RetrievedChunk, retrieve
from rag.settings import Settings, get_settings


def context_strategy(settings: Settings) -> str:
    """What the LLM sees (``answer.context_strategy``, "auto" resolved): sentences for the
    local backend's small model, whole chunks for remote ones."""
    chosen = settings.answer.context_strategy
    if chosen != "auto":
        return chosen
    return "sentences" if settings.llm.backend == "local" else "chunks"


def reply_mode(settings: Settings) -> str:
    """Who writes the reply (``answer.reply``, "auto" resolved): a quote of the best sentence
    for a small model (the sentences strategy), the LLM otherwise."""
    chosen = settings.answer.reply
    if chosen != "auto":
        return chosen
    return "quote" if context_strategy(settings) == "sentences" else "generate"


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
        return context_strategy(self.settings)

    def _reply_mode(self) -> str:
        return reply_mode(self.settings)

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

    # -- the preparation steps (runnables) -----------------------------------------------
    def _rewrite(self, request: AskRequest) -> PreparedQuestion:
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
        return PreparedQuestion(
            request, standalone, preset, decoding,
            timings=(("rewrite", time.perf_counter() - start),),
        )

    def _retrieve(self, prepared: PreparedQuestion) -> PreparedQuestion:
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

    def _judge(self, prepared: PreparedQuestion) -> PreparedQuestion:
        """Do the documents answer? (rag/answer/checks.py)"""
        return judge_answerable(prepared, self.index, self.settings)

    def _expand(self, prepared: PreparedQuestion) -> PreparedQuestion:
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

    def _select(self, prepared: PreparedQuestion) -> PreparedQuestion:
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

    def _render(self, prepared: PreparedQuestion) -> PreparedQuestion:
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

    def _context_budget(self, prepared: PreparedQuestion) -> int:
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
        prepared: PreparedQuestion = self.prepare_chain.invoke(request)
        timings = dict(prepared.timings)
        sources = sources_of(prepared.chunks, prepared.passages)
        if prepared.decline_reason:
            yield prepared.decline_reply
            out.append(self._answer(prepared, prepared.decline_reply, "declined", sources, (), "",
                                    prepared.decline_reason, timings, started))
            return
        if self._reply_mode() == "quote":
            text, path, cited, reason, basis = quote_reply(prepared, self.settings)
            timings["first_token"] = time.perf_counter() - started
            yield text
            if basis is not None:
                sources = with_answer_span(sources, basis, prepared.chunks)
            out.append(self._answer(prepared, text, path, sources, cited, "", reason, timings,
                                    started))
            return
        model = self.chat_model(prepared.decoding)
        answer_chain = model | StrOutputParser()
        small = self._strategy() == "sentences"
        # A small model's answer must agree with one passage (verify_reply); once it names a
        # number or code that passage lacks, no continuation can pass, and the reply will be
        # the quote whatever follows: generating the rest only costs the user time.
        anchor = (grounding_anchor(prepared, self.settings)
                  if small and prepared.preset.answer_marker is None else None)
        doomed = (DoomedAnswer(anchor.text, prepared.standalone, self.settings.answer.min_support)
                  if anchor is not None else None)
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
                if doomed is not None and doomed("".join(pieces)):
                    timings["stopped_unsupported"] = time.perf_counter() - gen_start
                    break
        except RagError:
            raise
        except Exception as exc:  # the one place backend failures become our error type
            raise BackendError(f"{self.backend} backend failed: {type(exc).__name__}") from exc
        finally:
            token_stream.close()  # stops a local generation thread when the user pressed Stop
        timings["generate"] = time.perf_counter() - gen_start
        generated = "".join(pieces).strip()
        text, path, cited, reason, basis = verify_reply(generated, prepared, self.settings,
                                                        small=small, anchor=anchor)
        if basis is not None:
            sources = with_answer_span(sources, basis, prepared.chunks)
        out.append(self._answer(prepared, text, path, sources, cited, generated, reason,
                                timings, started))

    def _answer(
        self,
        prepared: PreparedQuestion,
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
