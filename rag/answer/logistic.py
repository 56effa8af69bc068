"""A fitted logistic regression kept as data: the one shape of the refusal model and the
answer scorer (rag/answer/refusal.py, rag/answer/extract.py), fitted by ``python -m rag fit``.

Weights apply to standardised terms (``(value - mean) / scale``), so their sizes compare. The
terms are the features themselves or, for a ``quadratic`` model, the features and every product
of two of them (each with itself too): a model that must learn that one signal means little
while another is low (every word of a question found in a library of everyday prose, for a
question no passage is close to) needs those products, which a sum of single features cannot
express. Reading needs no scikit-learn: fitting does (rag/eval/fitting.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import combinations_with_replacement
from pathlib import Path
from typing import Any

from rag.errors import ConfigError


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0)))


def quadratic_terms(values: Sequence[float]) -> list[float]:
    """``values`` followed by the product of every pair of them, each with itself included, in
    the order of :func:`quadratic_names`."""
    return [*values, *(a * b for a, b in combinations_with_replacement(values, 2))]


def quadratic_names(names: Sequence[str]) -> list[str]:
    return [*names, *(f"{a}*{b}" for a, b in combinations_with_replacement(names, 2))]


@dataclass(frozen=True)
class Logistic:
    features: tuple[str, ...]
    mean: tuple[float, ...]  # per term (see terms)
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    quadratic: bool = False  # the terms include the products of features (module docstring)

    @property
    def terms(self) -> tuple[str, ...]:
        """The names of what the weights apply to, in order."""
        return tuple(quadratic_names(self.features)) if self.quadratic else self.features

    def log_odds(self, values: Sequence[float]) -> float:
        """``values`` in the order of ``features``."""
        if len(values) != len(self.features):
            raise ValueError(f"{len(values)} values for {len(self.features)} features")
        expanded = quadratic_terms(values) if self.quadratic else values
        return self.intercept + sum(
            c * (v - m) / s
            for v, m, s, c in zip(expanded, self.mean, self.scale, self.coef, strict=True)
        )

    def probability(self, values: Sequence[float]) -> float:
        return sigmoid(self.log_odds(values))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str, expected: Sequence[str]) -> Logistic:
        """The weights in ``data`` (as written by :meth:`as_dict`), for exactly the features
        ``expected``; anything else is a :class:`ConfigError` naming ``where``."""
        try:
            model = cls(
                features=tuple(str(f) for f in data["features"]),
                mean=tuple(float(x) for x in data["mean"]),
                scale=tuple(float(x) for x in data["scale"]),
                coef=tuple(float(x) for x in data["coef"]),
                intercept=float(data.get("intercept", 0.0)),
                quadratic=data.get("quadratic", False) is True,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: not a fitted model ({type(exc).__name__})") from exc
        lengths = {len(model.terms), len(model.mean), len(model.scale), len(model.coef)}
        if len(lengths) != 1 or any(s <= 0 for s in model.scale):
            raise ConfigError(f"{where}: features, scaling and weights do not fit together")
        if model.features != tuple(expected):
            raise ConfigError(f"{where}: fitted for other features; fit it again "
                              "(`python -m rag fit`)")
        return model


def read_model_file(path: Path, what: str) -> dict[str, Any]:
    """The JSON object in ``path``; a missing or unreadable file says how to make one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"no {what} at {path}: fit one with `python -m rag fit`") from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{what} {path} unreadable: {type(exc).__name__}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path}: not a fitted model")
    return data


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2) + "\n"
