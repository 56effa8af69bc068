"""A fitted logistic regression kept as data: the one shape of the refusal model and the
answer scorer (rag/answer/refusal.py, rag/answer/extract.py), fitted by ``python -m rag fit``.

Weights apply to standardised features (``(value - mean) / scale``), so their sizes compare.
Reading needs no scikit-learn: fitting does (rag/eval/fitting.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rag.errors import ConfigError


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0)))


@dataclass(frozen=True)
class Logistic:
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def log_odds(self, values: Sequence[float]) -> float:
        """``values`` in the order of ``features``."""
        return self.intercept + sum(
            c * (v - m) / s
            for v, m, s, c in zip(values, self.mean, self.scale, self.coef, strict=True)
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
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: not a fitted model ({type(exc).__name__})") from exc
        lengths = {len(model.features), len(model.mean), len(model.scale), len(model.coef)}
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
