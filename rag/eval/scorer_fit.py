"""Fitting the answer scorer (rag/answer/extract.py) on the train halves, judged on the held-out
ones.

The candidates of a question are the best scored sentences of its retrieved chunks, as the
chain ranked them (:class:`rag.eval.refusal_fit.Assessed`); a candidate is positive when it
holds the gold answer. Only answerable questions with at least one positive candidate teach
anything. The figure that matters is top-1: how often the candidate the scorer puts first
holds the answer, next to the chain's own closeness ranking.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rag.answer.extract import SPAN_FEATURES, AnswerScorer
from rag.eval.fitting import fit_ranking_logistic
from rag.eval.metrics import contains_answer, mean
from rag.eval.refusal_fit import Assessed

Option = tuple[int, str, tuple[float, ...]]  # (citation number, text, span features)


def top1(rows: Sequence[Assessed], pick: Callable[[Sequence[Option]], Option | None]
         ) -> float:
    """Share of answerable ``rows`` whose picked candidate holds the answer."""
    hits = []
    for row in (r for r in rows if r.answerable):
        chosen = pick(row.candidates)
        hits.append(1.0 if chosen is not None and contains_answer(chosen[1], row.references)
                    else 0.0)
    return mean(hits)


def fit_scorer(train: Sequence[Assessed], provenance: dict[str, Any] | None = None
               ) -> AnswerScorer:
    """The scorer fitted to rank each question's candidates (the one that holds the answer
    above those that do not: :func:`rag.eval.fitting.fit_ranking_logistic`), then calibrated
    so that its probability for the best candidate is a refusal signal."""
    groups = [
        [(features, 1 if contains_answer(text, row.references) else 0)
         for _, text, features in row.candidates]
        for row in train if row.answerable
        and any(contains_answer(t, row.references) for _, t, _ in row.candidates)
    ]
    return AnswerScorer(fit_ranking_logistic(SPAN_FEATURES, groups), dict(provenance or {}))


@dataclass(frozen=True)
class ScorerFigures:
    set: str
    half: str
    answerable: int
    any_holds: float  # some candidate holds the answer (the ceiling)
    closest: float  # top-1 of the chain's closeness ranking
    scorer: float  # top-1 of the fitted scorer

    def row(self) -> dict[str, Any]:
        return {"set": self.set, "half": self.half, "answerable": self.answerable,
                "any candidate": self.any_holds, "closest first": self.closest,
                "scorer first": self.scorer}


def scorer_figures(set_name: str, half: str, rows: Sequence[Assessed],
                   scorer: AnswerScorer) -> ScorerFigures:
    answerable = [r for r in rows if r.answerable]
    return ScorerFigures(
        set_name, half, len(answerable),
        mean(1.0 if any(contains_answer(t, r.references) for _, t, _ in r.candidates) else 0.0
             for r in answerable),
        top1(rows, lambda c: c[0] if c else None),
        top1(rows, lambda c: max(c, key=lambda o: scorer.weigh(o[2])) if c else None),
    )
