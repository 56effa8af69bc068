"""Rendering eval results: aligned text tables, a JSON file and a PNG bar chart.

Results are frozen dataclasses (``dataclasses.asdict`` turns them into JSON); this module only
formats them and never computes a metric.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def format_cell(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def format_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    title: str = "",
    digits: Mapping[str, int] | None = None,
) -> str:
    """An aligned plain-text table; text columns left-aligned, numbers right-aligned.

    Floats get 3 decimals unless ``digits`` names another count for their column.
    """
    digits = digits or {}
    cells = [
        [format_cell(row.get(col), digits.get(col, 3)) for col in columns] for row in rows
    ]
    widths = [
        max([len(col), *(len(r[i]) for r in cells)]) for i, col in enumerate(columns)
    ]
    numeric = [
        all(isinstance(row.get(col), int | float) or row.get(col) is None for row in rows)
        for col in columns
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = []
    if title:
        out.append(title)
    out.append(line(columns))
    out.append("  ".join("-" * w for w in widths))
    out.extend(line(r) for r in cells)
    return "\n".join(out)


def to_jsonable(value: Any) -> Any:
    """Dataclasses, tuples, paths and NaN made JSON-safe (NaN becomes null)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_json(payload: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_jsonable(payload), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path


def write_bar_chart(
    rows: Sequence[Mapping[str, Any]],
    *,
    label_key: str,
    metrics: Sequence[str],
    path: Path,
    title: str,
) -> Path:
    """Grouped bars: one group per metric, one bar per row (mode or configuration)."""
    import matplotlib

    matplotlib.use("Agg")  # no display here; must precede the pyplot import
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    n_rows = max(len(rows), 1)
    width = 0.8 / n_rows
    fig, ax = plt.subplots(figsize=(max(6.0, 1.4 * len(metrics) + 2), 4.0), dpi=110)
    try:
        for i, row in enumerate(rows):
            values = [
                float(row.get(m)) if isinstance(row.get(m), int | float) else 0.0
                for m in metrics
            ]
            values = [0.0 if math.isnan(v) else v for v in values]
            xs = [j + (i - (n_rows - 1) / 2) * width for j in range(len(metrics))]
            bars = ax.bar(xs, values, width=width, label=str(row.get(label_key)))
            ax.bar_label(bars, fmt="%.2f", fontsize=6, padding=1)
        ax.set_xticks(range(len(metrics)))
        ax.set_xticklabels(list(metrics), fontsize=8)
        ax.set_ylim(0, 1.08)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
