"""Fitting the refusal model (rag/answer/refusal.py) on the train halves of several evaluation sets.

Each set is split in two by question (a fixed seed; a follow-up stays with the question it
follows); the model is fitted on the pooled train halves and judged on the held-out halves,
which it never saw. The threshold is the highest probability at which every set's train half
keeps its false declines (answerable questions declined) within ``max_false_decline``.

The features of a question come from the chain's own preparation steps (rewrite, retrieval,
sentence scoring), so the model is fitted on exactly what it will see when answering.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from rag.answer.refusal import RefusalFeatures, RefusalModel
from rag.eval.answer_eval import QAItem
from rag.eval.fitting import fit_logistic
from rag.eval.metrics import contains_answer, mean
from rag.settings import Settings

SPLIT_SEED = 20261206
MAX_FALSE_DECLINE = 0.10
# The refusal model weighs the products of its signals too (rag/answer/logistic.py): whether
# the question's words are in the library means much when a passage is close to it and little
# when none is. With 35 terms for a few hundred training questions the weights are held small
# (C = 0.1): on two folds of the train halves, C = 1 declined more answerable questions of
# the held-back fold, C = 0.01 no more unanswerable ones than the features alone.
QUADRATIC = True
REGULARISATION = 0.1
# Candidate thresholds: probabilities in steps of 0.01.
_THRESHOLDS = tuple(i / 100 for i in range(1, 100))


@dataclass(frozen=True)
class Assessed:
    """One question as the chain prepared it, without calling the LLM."""

    set: str
    id: str
    answerable: bool
    features: RefusalFeatures
    probability: float | None  # from the model in use (None: the chain had no chunk)
    answer_rank: int | None  # 1-based rank of the first scored sentence holding the answer
    question: str = ""  # as the chain searched for it (a follow-up rewritten)
    references: tuple[str, ...] = ()
    # The answer scorer's candidates: (citation number, text, span features), for fitting it.
    candidates: tuple[tuple[int, str, tuple[float, ...]], ...] = ()


def group_of(item: QAItem) -> str:
    """The split unit: a follow-up goes with the question it follows."""
    return item.follows or item.id


def split_items(items: Sequence[QAItem], seed: int = SPLIT_SEED) -> tuple[set[str], set[str]]:
    """(train ids, held-out ids): half of the question groups each, answerable and
    unanswerable halved separately so both halves keep the set's mix."""
    train: set[str] = set()
    groups: dict[str, list[QAItem]] = {}
    for item in items:
        groups.setdefault(group_of(item), []).append(item)
    for answerable in (True, False):
        keys = sorted(k for k, members in groups.items() if members[0].answerable is answerable)
        random.Random(f"{seed}:{answerable}").shuffle(keys)
        for key in keys[: (len(keys) + 1) // 2]:
            train.update(member.id for member in groups[key])
    return train, {item.id for item in items} - train


def assess(
    set_name: str,
    index: Any,
    items: Sequence[QAItem],
    settings: Settings,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[Assessed]:
    """Run the chain's preparation (no LLM, no refusal) for every question of one set."""
    from rag.answer.chain import ChatService
    from rag.answer.checks import candidates_of
    from rag.answer.extract import span_feature_rows
    from rag.answer.reply import AskRequest

    quiet = settings.model_copy(
        update={"answer": settings.answer.model_copy(update={"refuse": False})}
    )
    service = ChatService(index, settings=quiet)
    questions = {item.id: item.question for item in items}
    out = []
    for i, item in enumerate(items, start=1):
        history = ((questions[item.follows], ""),) if item.follows in questions else ()
        prepared = service.prepare_chain.invoke(AskRequest(item.question, history=history))
        features = prepared.features or RefusalFeatures(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        rank = next(
            (r for r, p in enumerate(prepared.ranked, start=1)
             if item.answerable and contains_answer(p.text, item.references)),
            None,
        )
        options = candidates_of(prepared)
        candidates = tuple(
            (c.passage.number, c.passage.text, tuple(row)) for c, row in
            zip(options, span_feature_rows(prepared.standalone, options), strict=True)
        )
        out.append(Assessed(set_name, item.id, item.answerable, features,
                            prepared.answerable, rank, prepared.standalone,
                            tuple(item.references), candidates))
        if progress is not None:
            progress(f"refusal features: {set_name}", i, len(items))
    return out


def with_extract_best(row: Assessed, scorer: Any) -> Assessed:
    """``row`` with the refusal signals that depend on ``scorer`` (an
    :class:`rag.answer.extract.AnswerScorer`): ``extract_best`` and ``keyword_answer``, computed
    from the candidates' stored features and texts as the chain computes them from the
    candidates themselves."""
    from rag.answer.refusal import answer_coverage

    rows = [f for _, _, f in row.candidates]
    best = scorer.best_probability(rows)
    at = scorer.best_index(rows)
    coverage = answer_coverage(row.question, row.candidates[at][1]) if at is not None else 0.0
    return replace(row, features=replace(row.features, extract_best=best,
                                         keyword_answer=coverage))


@dataclass(frozen=True)
class SplitFigures:
    """Refusal figures of one group of questions under one model."""

    set: str
    half: str  # "train", "held-out" or "all"
    answerable: int
    unanswerable: int
    false_declines: float
    unanswerable_declined: float

    @property
    def gap(self) -> float:
        return self.unanswerable_declined - self.false_declines

    def row(self) -> dict[str, Any]:
        return {
            "set": self.set, "half": self.half, "answerable": self.answerable,
            "unanswerable": self.unanswerable, "false decline": self.false_declines,
            "unans. declined": self.unanswerable_declined, "gap": self.gap,
        }


def figures(set_name: str, half: str, rows: Sequence[Assessed], declines: Callable[
        [Assessed], bool]) -> SplitFigures:
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]
    return SplitFigures(
        set_name, half, len(answerable), len(unanswerable),
        mean(1.0 if declines(r) else 0.0 for r in answerable),
        mean(1.0 if declines(r) else 0.0 for r in unanswerable),
    )


def fit_model(
    train: Sequence[Assessed], *, max_false_decline: float = MAX_FALSE_DECLINE,
    provenance: dict[str, Any] | None = None,
) -> RefusalModel:
    """Logistic regression on the standardised features of ``train``; the threshold is the
    highest at which each set's false declines stay within ``max_false_decline``."""
    if len({r.answerable for r in train}) < 2:
        from rag.errors import ConfigError

        raise ConfigError("fitting needs answerable and unanswerable training questions")
    # Each set weighs the same, whatever its size: a big set must not decide alone.
    sets = sorted({r.set for r in train})
    per_set = {s: sum(1 for r in train if r.set == s) for s in sets}
    weights = fit_logistic(
        RefusalFeatures.names(), [r.features.vector() for r in train],
        [1 if r.answerable else 0 for r in train],
        [len(train) / (len(sets) * per_set[r.set]) for r in train],
        quadratic=QUADRATIC, regularisation=REGULARISATION,
    )
    model = RefusalModel(weights, 0.0, dict(provenance or {}))
    probabilities = {(r.set, r.id): model.probability(r.features) for r in train}
    threshold = 0.0
    for t in _THRESHOLDS:
        worst = max(
            figures(s, "train", [r for r in train if r.set == s],
                    lambda r, t=t: probabilities[(r.set, r.id)] < t).false_declines
            for s in sets
        )
        if worst <= max_false_decline:
            threshold = t
    return replace(model, threshold=threshold)


@dataclass(frozen=True)
class FitResult:
    model: RefusalModel
    figures: tuple[SplitFigures, ...]


def fit_and_report(
    assessed: Sequence[Assessed], splits: dict[str, tuple[set[str], set[str]]],
    *, max_false_decline: float = MAX_FALSE_DECLINE,
) -> FitResult:
    """Fit on the train halves of ``assessed`` (split per set by ``splits``) and report every
    set's train, held-out and whole figures under the fitted model."""
    train = [r for r in assessed if r.id in splits[r.set][0]]
    provenance = {
        "date": date.today().isoformat(),
        "split_seed": SPLIT_SEED,
        "max_false_decline": max_false_decline,
        "train_questions": {s: len(t) for s, (t, _) in splits.items()},
    }
    model = fit_model(train, max_false_decline=max_false_decline, provenance=provenance)
    out = []
    for name in splits:
        rows = [r for r in assessed if r.set == name]
        train_ids, held_ids = splits[name]

        def declines(r: Assessed) -> bool:
            return model.declines(r.features)

        out.append(figures(name, "train", [r for r in rows if r.id in train_ids], declines))
        out.append(figures(name, "held-out", [r for r in rows if r.id in held_ids], declines))
        out.append(figures(name, "all", rows, declines))
    model = replace(model, fitted_on={**model.fitted_on, "figures": [f.row() for f in out]})
    return FitResult(model, tuple(out))
