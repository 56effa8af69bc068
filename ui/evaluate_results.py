"""The Evaluate page's results: metrics side by side, a chart, and per-question differences.

The rows come from ``rag.eval.ab`` (built on the eval harness's ``summarise_answers`` and
``summarise``), so the page, ``python -m rag eval-ab`` and ``python -m rag eval`` agree on what
each number means; this module only lays them out.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from rag.eval.ab import (
    NOT_FOUND,
    RETRIEVAL,
    EvalRun,
    common_questions,
    diff_columns,
    diff_rows,
    metric_rows,
)
from ui.untrusted import inert_markdown

RUN_KEY = "eval_run"  # session state: the current EvalRun (the page's and these results')
# Share-valued metrics (0..1) that make sense on one bar chart; latency has its own scale.
ANSWER_CHART = ("answerable ok", "unans. declined", "false decline", "citations ok", "EM", "F1")
RETRIEVAL_CHART = ("R@1", "R@5", "R@10", "Hit@5", "MRR@10", "nDCG@10")


def metrics_frame(run: EvalRun) -> pd.DataFrame:
    """One row per configuration: the harness's summary over the common questions."""
    return pd.DataFrame(metric_rows(run)).set_index("config")


def chart_metrics(run: EvalRun) -> tuple[str, ...]:
    return RETRIEVAL_CHART if run.measure == RETRIEVAL else ANSWER_CHART


def diff_frame(run: EvalRun) -> pd.DataFrame:
    """One row per question both configurations answered; ``differs`` marks the interesting ones."""
    return pd.DataFrame(diff_rows(run), columns=list(diff_columns(run)))


def render_results(run: EvalRun) -> None:
    total = len(run.jobs)
    if run.error:
        st.error(f"Stopped after {len(run.rows)} of {total} {run.unit}: "
                 f"{inert_markdown(run.error)}",
                 icon=":material/error:")
    elif run.cancelled:
        covered = ("; the results below cover the questions both configurations answered"
                   if common_questions(run) else "")
        st.warning(f"Cancelled after {len(run.rows)} of {total} {run.unit}{covered}.",
                   icon=":material/stop:")
    else:
        st.success(f"Done: {len(run.question_ids)} questions from "
                   f"{inert_markdown(run.dataset)}, two "
                   "configurations.", icon=":material/check_circle:")
    if run.skipped:
        st.caption(f"{run.skipped} unanswerable question(s) of {inert_markdown(run.dataset)} "
                   "left out: "
                   "retrieval is scored on questions that have relevant passages.")
    if not common_questions(run):
        st.caption("No question was answered by both configurations, so there is nothing to "
                   "compare.")
        _clear_button()
        return
    metrics = metrics_frame(run)
    st.subheader("Metrics", anchor=False)
    st.table(_formatted(metrics))
    shares = list(chart_metrics(run))
    chart = metrics[shares].T.fillna(0.0)
    chart.columns = [f"{name}: {metrics.loc[name, 'setup']}" for name in chart.columns]
    # Horizontal: the metric names stay readable (a vertical chart turns them sideways).
    st.bar_chart(chart, horizontal=True, stack=False, x_label="", y_label="share (0–1)",
                 height=320, sort=False)
    st.subheader("Per question", anchor=False)
    diff = diff_frame(run)
    only_diff = st.toggle("Only questions where A and B differ", key="eval_only_diff")
    shown = diff[diff["differs"]] if only_diff else diff
    st.dataframe(shown.style.apply(_highlight, axis=1), hide_index=True, key="eval_diff",
                 width="stretch", column_config=_diff_columns(diff))
    st.caption(f"{int(diff['differs'].sum())} of {len(diff)} questions differ (highlighted)."
               + (f" Rank: where the first relevant passage came ({NOT_FOUND}: not in the top "
                  "10)." if run.measure == RETRIEVAL else ""))
    _clear_button()


def _diff_columns(diff: pd.DataFrame) -> dict[str, Any]:
    """Pixel widths that fit the retrieval grid in the page (the question gets the room); an
    answers grid, with two replies, scrolls sideways."""
    widths = {"id": 50, "question": 350, "rank A": 65, "rank B": 65, "top hit A": 160,
              "top hit B": 160, "reference": 140, "reply A": 260, "reply B": 260, "path A": 80,
              "path B": 80}
    config: dict[str, Any] = {
        name: st.column_config.TextColumn(name, width=width)
        for name, width in widths.items() if name in diff.columns
    }
    for name in ("correct A", "correct B", "differs"):
        if name in diff.columns:
            config[name] = st.column_config.CheckboxColumn(name, width=65)
    return config


def _formatted(metrics: pd.DataFrame):
    """Shares with two decimals, latency as whole numbers; a missing value as a dash."""
    formats = {c: "{:.2f}" for c in metrics.columns if metrics[c].dtype.kind == "f"}
    for column in ("p50 ms", "p95 ms"):
        if column in metrics.columns:
            formats[column] = "{:.0f}"
    if "p50 s" in metrics.columns:
        formats["p50 s"] = "{:.1f}"
    return metrics.style.format(formats, na_rep="–")


def _clear_button() -> None:
    if st.button("Clear results", key="eval_clear", icon=":material/delete:"):
        st.session_state.pop(RUN_KEY, None)
        st.rerun()


def _highlight(row: pd.Series) -> list[str]:
    colour = "background-color: rgba(255, 196, 0, 0.25)" if row["differs"] else ""
    return [colour] * len(row)
