"""Fitting the logistic models (scikit-learn) that the chain reads as data."""

import random

from rag.eval.fitting import fit_logistic


def _grid(n: int, seed: int) -> list[list[float]]:
    rnd = random.Random(seed)
    return [[rnd.random(), rnd.random()] for _ in range(n)]


def _accuracy(model, rows, labels) -> float:
    right = sum((model.probability(r) >= 0.5) == bool(y)
                for r, y in zip(rows, labels, strict=True))
    return right / len(rows)


def test_products_let_a_model_learn_what_one_feature_means_given_another():
    # Positive when both features are on the same side of 0.5: no sum of single features
    # separates that, the product of the two centred features does.
    def label(row):
        return int((row[0] - 0.5) * (row[1] - 0.5) > 0)

    train, test = _grid(400, 1), _grid(200, 2)
    centred = [[a - 0.5, b - 0.5] for a, b in train]
    labels = [label(r) for r in train]
    names = ("a", "b")
    linear = fit_logistic(names, centred, labels, [1.0] * len(train))
    quadratic = fit_logistic(names, centred, labels, [1.0] * len(train), quadratic=True)
    held = [[a - 0.5, b - 0.5] for a, b in test]
    held_labels = [label(r) for r in test]
    assert quadratic.quadratic and len(quadratic.coef) == 5
    assert _accuracy(quadratic, held, held_labels) >= 0.9
    assert _accuracy(linear, held, held_labels) <= 0.7


def test_weights_are_held_small_by_regularisation():
    rows = _grid(200, 3)
    labels = [int(a > 0.5) for a, _ in rows]
    loose = fit_logistic(("a", "b"), rows, labels, [1.0] * len(rows), regularisation=10.0)
    tight = fit_logistic(("a", "b"), rows, labels, [1.0] * len(rows), regularisation=0.01)
    assert abs(tight.coef[0]) < abs(loose.coef[0])
    assert loose.coef[0] > 0 and tight.coef[0] > 0

