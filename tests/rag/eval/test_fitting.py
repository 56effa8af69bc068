"""Fitting the logistic models (scikit-learn) that the chain reads as data."""

import random

import pytest

from rag.errors import ConfigError
from rag.eval.fitting import fit_logistic, fit_ranking_logistic


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


def _picks(model, group) -> int:
    scores = [model.log_odds(row) for row, _ in group]
    return scores.index(max(scores))


def test_a_ranking_fit_learns_what_tells_a_questions_candidates_apart():
    # Within every question the answer has the lower first feature; across questions, those
    # with few candidates (where any one is likelier to answer) have high values of it. A
    # fit of every candidate on its own learns the across-question pattern, and picks the
    # wrong candidate of every question; a fit on pairs within a question cannot.
    rnd = random.Random(4)
    groups = []
    for i in range(60):
        few = i % 2 == 0
        base, size = (5.0, 2) if few else (1.0, 10)
        answer = rnd.randrange(size)
        groups.append([([base - (1.0 if j == answer else 0.0) + rnd.uniform(-0.2, 0.2),
                         rnd.random()], 1 if j == answer else 0) for j in range(size)])
    ranking = fit_ranking_logistic(("level", "noise"), groups)
    pointwise = fit_logistic(
        ("level", "noise"), [row for g in groups for row, _ in g],
        [y for g in groups for _, y in g], [1.0 / len(g) for g in groups for _ in g])
    right = [g[_picks(ranking, g)][1] for g in groups]
    wrong_pointwise = [1 - g[_picks(pointwise, g)][1] for g in groups]
    assert sum(right) == len(groups)
    assert sum(wrong_pointwise) >= len(groups) * 0.9
    # Calibrated over the rows, each question weighing the same: the mean probability is the
    # share of candidates that answer (half of a two-candidate question's, a tenth of ten).
    mean_probability = sum(ranking.probability(r) / len(g) for g in groups for r, _ in g)
    assert mean_probability / len(groups) == pytest.approx((0.5 + 0.1) / 2, abs=1e-6)


def test_a_ranking_fit_needs_a_question_with_a_right_and_a_wrong_candidate():
    with pytest.raises(ConfigError, match="positive and a negative"):
        fit_ranking_logistic(("a",), [[([1.0], 1)], [([0.0], 0), ([2.0], 0)]])
