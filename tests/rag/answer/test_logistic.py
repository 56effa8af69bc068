"""The fitted-model shape shared by the refusal model and the answer scorer."""

import pytest

from rag.answer.logistic import Logistic, read_model_file, sigmoid
from rag.errors import ConfigError


def test_log_odds_apply_weights_to_standardised_values():
    model = Logistic(("a", "b"), mean=(1.0, 0.0), scale=(2.0, 1.0), coef=(1.0, -0.5),
                     intercept=0.25)
    assert model.log_odds([3.0, 2.0]) == pytest.approx(0.25 + 1.0 - 1.0)
    assert model.probability([1.0, 0.0]) == pytest.approx(sigmoid(0.25))
    assert sigmoid(1e9) == pytest.approx(1.0) and sigmoid(-1e9) == pytest.approx(0.0)


def test_from_dict_checks_shape_and_features():
    good = Logistic(("a",), (0.0,), (1.0,), (2.0,), 0.0).as_dict()
    assert Logistic.from_dict(good, "m", ("a",)).coef == (2.0,)
    with pytest.raises(ConfigError, match="other features"):
        Logistic.from_dict(good, "m", ("b",))
    with pytest.raises(ConfigError, match="do not fit together"):
        Logistic.from_dict({**good, "scale": [0.0]}, "m", ("a",))
    with pytest.raises(ConfigError, match="not a fitted model"):
        Logistic.from_dict({"features": ["a"]}, "m", ("a",))


def test_model_files_missing_or_broken_say_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="python -m rag fit"):
        read_model_file(tmp_path / "none.json", "refusal model")
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="not a fitted model"):
        read_model_file(tmp_path / "bad.json", "refusal model")


def test_a_quadratic_model_weighs_products_of_features():
    names = ("a", "b")
    terms = ("a", "b", "a*a", "a*b", "b*b")
    coef = (0.0, 0.0, 0.0, 1.5, 0.0)  # only the product of a and b counts
    model = Logistic(names, mean=(0.0,) * 5, scale=(1.0,) * 5, coef=coef, intercept=-1.0,
                     quadratic=True)
    assert model.terms == terms
    assert model.log_odds([2.0, 3.0]) == pytest.approx(-1.0 + 1.5 * 6.0)
    assert model.log_odds([2.0, 0.0]) == pytest.approx(-1.0)  # a alone does nothing
    with pytest.raises(ValueError, match="3 values for 2 features"):
        model.log_odds([1.0, 2.0, 3.0])
    again = Logistic.from_dict(model.as_dict(), "m", names)
    assert again == model
    with pytest.raises(ConfigError, match="do not fit together"):
        Logistic.from_dict({**model.as_dict(), "quadratic": False}, "m", names)
