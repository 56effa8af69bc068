"""Fitting a :class:`rag.answer.logistic.Logistic` (scikit-learn, only when fitting)."""

from __future__ import annotations

from collections.abc import Sequence

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
    centre, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0  # a constant term: its weight stays 0 whatever the scale
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

