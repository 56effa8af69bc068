"""Fitting a :class:`rag.answer.logistic.Logistic` (scikit-learn, only when fitting)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rag.answer.logistic import Logistic, quadratic_terms


def fit_logistic(names: Sequence[str], rows: Sequence[Sequence[float]], labels: Sequence[int],
                 weights: Sequence[float], *, quadratic: bool = False,
                 regularisation: float = 1.0) -> Logistic:
    """L2-regularised logistic regression (scikit-learn's C = ``regularisation``: smaller holds
    the weights closer to 0) on standardised terms, each row weighted; ``quadratic``: the terms
    are the features and their products (rag/answer/logistic.py)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.array([quadratic_terms(r) if quadratic else list(r) for r in rows], dtype=float)
    centre, scale = _scaling(x)
    fitted = LogisticRegression(C=regularisation, max_iter=5000)
    fitted.fit((x - centre) / scale, np.array(labels), sample_weight=np.array(weights))
    return Logistic(
        features=tuple(names),
        mean=tuple(float(v) for v in centre),
        scale=tuple(float(v) for v in scale),
        coef=tuple(float(v) for v in fitted.coef_[0]),
        intercept=float(fitted.intercept_[0]),
        quadratic=quadratic,
    )


def _scaling(x: Any) -> tuple[Any, Any]:
    """Each column's mean and standard deviation, for standardised terms."""
    centre, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0  # a constant term: its weight stays 0 whatever the scale
    return centre, scale


def fit_ranking_logistic(names: Sequence[str],
                         groups: Sequence[Sequence[tuple[Sequence[float], int]]]) -> Logistic:
    """A logistic model for choosing one of each group's rows (a question's candidate answers,
    each labelled 1 when it holds the answer), on standardised features.

    The direction of the weights is learned from pairs within a group — every positive row
    against every negative one of the same group, the difference of their features labelled
    by which is the positive — so only what tells a group's rows apart counts, not what makes
    one question easier than another (a pointwise fit learns both, and the second says
    nothing about which candidate to pick). Each group weighs the same. The intercept is then
    set so that the probabilities of all rows average the share of rows that are positive:
    a probability that a row holds the answer, which cannot reverse the ranking (a scale
    fitted on all rows together could, when what makes a question easy runs against what
    picks its answer)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rows = np.array([list(r) for group in groups for r, _ in group], dtype=float)
    centre, scale = _scaling(rows)
    diffs, labels, weights = [], [], []
    for group in groups:
        x = (np.array([list(r) for r, _ in group], dtype=float) - centre) / scale
        positives = [i for i, (_, y) in enumerate(group) if y]
        negatives = [i for i, (_, y) in enumerate(group) if not y]
        for p in positives:
            for n in negatives:
                weight = 1.0 / (len(positives) * len(negatives))
                diffs += [x[p] - x[n], x[n] - x[p]]
                labels += [1, 0]
                weights += [weight, weight]
    if len(set(labels)) < 2:
        from rag.errors import ConfigError

        raise ConfigError("fitting a ranking needs a group with a positive and a negative row")
    direction = LogisticRegression(C=1.0, fit_intercept=False, max_iter=5000)
    direction.fit(np.array(diffs), np.array(labels), sample_weight=np.array(weights))
    coef = direction.coef_[0]
    score = ((rows - centre) / scale) @ coef
    truth = np.array([y for group in groups for _, y in group], dtype=float)
    per_row = np.array([1.0 / len(group) for group in groups for _ in group])
    return Logistic(
        features=tuple(names),
        mean=tuple(float(v) for v in centre),
        scale=tuple(float(v) for v in scale),
        coef=tuple(float(v) for v in coef),
        intercept=_calibrated_intercept(score, truth, per_row),
    )


def _calibrated_intercept(score: Any, truth: Any, weights: Any) -> float:
    """The intercept ``b`` at which the weighted mean of ``sigmoid(score + b)`` equals that of
    ``truth`` (where the log-loss of the rows is least for a fixed slope): found by bisection,
    since that mean rises with ``b``."""
    import numpy as np

    target = float(np.average(truth, weights=weights))
    low, high = -60.0, 60.0
    for _ in range(100):
        middle = (low + high) / 2
        if float(np.average(1.0 / (1.0 + np.exp(-(score + middle))), weights=weights)) < target:
            low = middle
        else:
            high = middle
    return (low + high) / 2
