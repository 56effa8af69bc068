"""Fitting a :class:`rag.answer.logistic.Logistic` (scikit-learn, only when fitting)."""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer.logistic import Logistic


def fit_logistic(names: Sequence[str], rows: Sequence[Sequence[float]], labels: Sequence[int],
                 weights: Sequence[float]) -> Logistic:
    """L2-regularised logistic regression (C = 1) on standardised features, each row weighted."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.array(rows, dtype=float)
    centre, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0  # a constant feature: its weight stays 0 whatever the scale
    fitted = LogisticRegression(C=1.0, max_iter=1000)
    fitted.fit((x - centre) / scale, np.array(labels), sample_weight=np.array(weights))
    return Logistic(
        features=tuple(names),
        mean=tuple(float(v) for v in centre),
        scale=tuple(float(v) for v in scale),
        coef=tuple(float(v) for v in fitted.coef_[0]),
        intercept=float(fitted.intercept_[0]),
    )
