"""The two checks around generation. Before it: do the documents answer? Every sentence of the
retrieved chunks is scored, the answer scorer (rag/answer/extract.py) judges the best of them,
and the refusal model (rag/answer/refusal.py) turns that and the retrieval signals into a
probability. After it: is the reply supported? The grounding check against the passages shown,
and when it fails, the sentence the answer scorer judges most likely to answer, quoted."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from rag.answer.context import Passage, score_sentences
from rag.answer.extract import (
    DEFAULT_SCORER_PATH,
    Candidate,
    candidates,
    chunk_score_of,
    extract_reply,
    load_answer_scorer,
    span_feature_rows,
)
from rag.answer.grounding import NOT_IN_DOCUMENTS, check_grounding, is_decline
from rag.answer.refusal import (
    DEFAULT_MODEL_PATH,
    answer_coverage,
    load_refusal_model,
    refusal_features,
    term_coverage,
    token_match,
)
from rag.answer.reply import PreparedQuestion, ReplyPath
from rag.settings import Settings

T = TypeVar("T")

# A missing word is named to the user only when it is specific (rarer in English than about
# once per million words, see rag.answer.refusal.specificity): a common word missing is no
# reason a user can act on.
MISSING_TERM_SHOWN = 0.5

# Sentences the answer scorer chooses among: the closest ones (the scorer was fitted on as many).
EXTRACT_CANDIDATES = 20


def judge_answerable(
    prepared: PreparedQuestion, index: Any, settings: Settings
) -> PreparedQuestion:
    """Score every sentence of the retrieved chunks (the answer candidates), then ask the
    refusal model whether the documents answer (rag/answer/refusal.py says from what)."""
    if not prepared.chunks:
        return prepared
    start = time.perf_counter()
    from rag.store.bm25 import get_bm25_cache
    from rag.store.embeddings import get_embeddings

    docs = [c.doc for c in prepared.chunks]
    ranked = score_sentences(prepared.standalone, docs, get_embeddings(settings))
    vocabulary = get_bm25_cache().index_for(index, settings)
    coverage = term_coverage(prepared.standalone, docs, vocabulary)
    from ingest.records import record_spans

    options = candidates(ranked, [d.page_content for d in docs], EXTRACT_CANDIDATES,
                         [[end for _, end, _ in record_spans(d.metadata)] for d in docs],
                         chunk_scores(prepared))
    scorer = fitted(settings, settings.answer.answer_scorer or DEFAULT_SCORER_PATH,
                    load_answer_scorer)
    question, *texts = get_embeddings(settings).token_vectors(
        [prepared.standalone, *(o.passage.text for o in options)])
    rows = span_feature_rows(prepared.standalone, options)
    # The candidate the reply would quote: the scorer's best, else the closest.
    at = scorer.best_index(rows) if scorer is not None else 0 if options else None
    best = None if at is None else options[at]
    features = refusal_features(
        prepared.relevance, ranked[0].score if ranked else 0.0, coverage,
        scorer.best_probability(rows) if scorer is not None else 0.0,
        token_match(question, texts),
        answer_coverage(prepared.standalone, best.passage.text) if best is not None else 0.0,
    )
    model = fitted(settings, settings.answer.refusal_model or DEFAULT_MODEL_PATH,
                   load_refusal_model)
    answerable = model.probability(features) if model is not None else None
    reason, reply = "", NOT_IN_DOCUMENTS
    if model is not None and answerable is not None and settings.answer.refuse \
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


def fitted(settings: Settings, path: Path, load: Callable[[Path], T]) -> T | None:
    """A fitted model (refusal model, answer scorer) from ``path``: required while refusal
    is on; with it off, used when the file exists and skipped otherwise, since the fitter
    runs the chain this way before there is one (its figures are still reported)."""
    return load(path) if settings.answer.refuse or path.is_file() else None


def verify_reply(
    generated: str,
    prepared: PreparedQuestion,
    settings: Settings,
    *,
    small: bool,
    anchor: Passage | None = None,
) -> tuple[str, ReplyPath, tuple[int, ...], str, Passage | None]:
    """The reply: the model's answer when the sources support it, else the sentence the
    answer scorer (rag/answer/extract.py) judges most likely to answer, quoted with its source.
    Also returns the passage the reply rests on, to highlight in its source. ``anchor``: the
    small model's :func:`grounding_anchor` when the caller already has it."""
    question, passages = prepared.standalone, prepared.passages
    extracted = best_quote(prepared, settings)
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
    anchor = (anchor or grounding_anchor(prepared, settings)) if small else None
    verdict = check_grounding(
        prepared.preset.answer_part(generated),
        passages,
        question=question,
        min_support=settings.answer.min_support,
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


def best_quote(prepared: PreparedQuestion, settings: Settings) -> Candidate | None:
    """The candidate (:func:`candidates_of`) the answer scorer judges most likely to answer."""
    scorer = load_answer_scorer(settings.answer.answer_scorer or DEFAULT_SCORER_PATH)
    return scorer.best(prepared.standalone, candidates_of(prepared))


def quote_reply(
    prepared: PreparedQuestion, settings: Settings
) -> tuple[str, ReplyPath, tuple[int, ...], str, Passage | None]:
    """The reply without asking the LLM (``answer.reply`` "quote"): the best candidate quoted
    with its source, as :func:`verify_reply` returns it."""
    extracted = best_quote(prepared, settings)
    if extracted is None:
        return NOT_IN_DOCUMENTS, "declined", (), "no sentence of the sources to quote", None
    return (extract_reply(extracted), "quoted", (extracted.number,),
            "the sentence that best answers the question is quoted", extracted)


def grounding_anchor(prepared: PreparedQuestion, settings: Settings) -> Passage | None:
    """The one passage a small model's answer must agree with (see :func:`verify_reply`): the
    passage shown to it that the answer scorer judges most likely to answer by itself."""
    scorer = load_answer_scorer(settings.answer.answer_scorer or DEFAULT_SCORER_PATH)
    return scorer.best(prepared.standalone, passage_candidates(prepared))


def candidates_of(prepared: PreparedQuestion) -> list[Candidate]:
    """What the answer scorer chooses among: the closest sentences, alone and with the
    sentence after each (or, after neighbour expansion renumbered the chunks, the
    passages the model was shown)."""
    return list(prepared.options) or passage_candidates(prepared)


def passage_candidates(prepared: PreparedQuestion) -> list[Candidate]:
    """The passages the model was shown, each as a candidate of its own."""
    scores = chunk_scores(prepared)
    return [Candidate(p, chunk_score=chunk_score_of(p, scores)) for p in prepared.passages]


def chunk_scores(prepared: PreparedQuestion) -> list[float]:
    """Each retrieved chunk's dense cosine to the question, in citation order."""
    return [c.dense_score or 0.0 for c in prepared.chunks]
