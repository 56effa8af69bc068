"""The Evaluate page: A/B two configurations over a gold set, side by side.

A run asks one question per script run and then calls ``st.rerun()``: partial results live in
session state, so a click on Cancel (which reruns the script) takes effect before the next
question instead of waiting for the whole run. Scoring is the eval harness's own
(``rag.eval.answer_eval.score_reply`` / ``summarise_answers``), so the page and
``python -m rag eval`` agree on what "correct" means.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from rag.eval.answer_eval import AnswerRow, QAItem, score_reply, summarise_answers
from rag.eval.datasets import load_gold, spread
from rag.eval.runs import gold_qa_items
from rag.presets import list_decoding_presets, list_prompt_presets
from rag.settings import Settings
from ui.errors import error_boundary
from ui.resources import get_index, get_service
from ui.sidebar import current_choices

REPO = Path(__file__).resolve().parents[1]
GOLD_PATH = REPO / "data" / "eval" / "gold.jsonl"
GOLD_CORPUS = REPO / "data" / "corpus"
DEFAULT_LIMIT = 10  # the local model takes seconds per answer on a laptop CPU
PRESET_DEFAULT = "(prompt preset's own)"
RUN_KEY = "eval_run"
# Share-valued metrics (0..1) that make sense on one bar chart; p50 seconds has its own scale.
CHART_METRICS = ("answerable ok", "unans. declined", "false decline", "citations ok", "EM", "F1")


@dataclass(frozen=True)
class ABConfig:
    """One side of the comparison: what a question is asked with."""

    name: str  # "A" or "B"
    prompt_preset: str
    decoding_preset: str | None  # None: the prompt preset's own decoding
    retrieval_mode: str
    backend: str

    @property
    def label(self) -> str:
        decoding = self.decoding_preset or "preset decoding"
        return (f"{self.name}: {self.prompt_preset} · {decoding} · {self.retrieval_mode} · "
                f"{self.backend}")


@dataclass
class EvalRun:
    """A run in progress (or finished): the questions, the configurations, rows so far.

    Mutable on purpose: it is the session-state record one rerun appends a row to.
    """

    dataset: str
    items: list[QAItem]
    questions: dict[str, tuple[str, str]]  # question id -> (question, reference answer)
    configs: tuple[ABConfig, ABConfig]
    rows: list[AnswerRow]
    cancelled: bool = False

    @property
    def jobs(self) -> list[tuple[int, int]]:
        """(question index, config index), interleaved so a cancelled run stays comparable."""
        return [(q, c) for q in range(len(self.items)) for c in range(len(self.configs))]

    @property
    def done(self) -> bool:
        return self.cancelled or len(self.rows) >= len(self.jobs)


# -- page ------------------------------------------------------------------------------------
def render_evaluate_page() -> None:
    choices = current_choices()
    settings, collection = choices.settings, choices.collection
    st.caption(
        f":material/science: A/B two configurations over a gold set, using collection "
        f"**{collection}**. The shipped gold set asks about the files in `data/corpus`."
    )
    with error_boundary():
        _render_corpus_check(settings, collection)
    run: EvalRun | None = st.session_state.get(RUN_KEY)
    running = run is not None and not run.done
    with error_boundary():
        _render_form(settings, disabled=running)
    run = st.session_state.get(RUN_KEY)
    if run is None:
        return
    if not run.done:
        with error_boundary():
            _step(run, settings, collection)
        return
    with error_boundary():
        render_results(run)


def _render_corpus_check(settings: Settings, collection: str) -> None:
    with st.spinner("Opening the index (the embedding model loads on first use)…"):
        index = get_index(settings, collection)
    missing = missing_corpus_files(index)
    if not missing:
        return
    st.info(
        f"Collection **{collection}** does not hold {len(missing)} of the "
        f"{len(list(_corpus_files()))} files in `data/corpus` that the shipped gold set asks "
        "about, so its questions would be judged against the wrong documents.",
        icon=":material/info:",
    )
    if st.button("Ingest data/corpus into this collection", key="eval_ingest_corpus",
                 icon=":material/upload:"):
        with st.spinner("Ingesting data/corpus…"):
            report = index.ingest_paths(sorted(_corpus_files()))
        failed = [f"{r.path}: {r.reason}" for r in report.files if r.status == "failed"]
        if failed:
            st.error("Some files failed: " + "; ".join(failed))
        else:
            st.rerun()


def _corpus_files() -> list[Path]:
    return [p for p in GOLD_CORPUS.iterdir() if p.is_file()] if GOLD_CORPUS.is_dir() else []


def missing_corpus_files(index: Any) -> list[str]:
    """Names of data/corpus files the collection does not hold (matched by file name tail)."""
    from rag.eval.relevance import same_source

    held = [str(d.source) for d in index.list_documents()]
    return [
        p.name
        for p in _corpus_files()
        if not any(same_source(source, f"data/corpus/{p.name}") for source in held)
    ]


def _render_config(side: str, settings: Settings, disabled: bool) -> ABConfig:
    from rag.llm import BACKENDS
    from rag.retrieval import RETRIEVAL_MODES

    prompts = list_prompt_presets()
    decodings = [PRESET_DEFAULT, *list_decoding_presets()]
    modes = list(RETRIEVAL_MODES)
    backends = list(BACKENDS)
    st.markdown(f"**Configuration {side}**")
    prompt = st.selectbox("Prompt preset", prompts, key=f"eval_{side}_prompt", disabled=disabled,
                          index=_index_of(prompts, settings.prompt_preset))
    decoding = st.selectbox("Decoding preset", decodings, key=f"eval_{side}_decoding",
                            disabled=disabled)
    mode = st.selectbox("Retrieval mode", modes, key=f"eval_{side}_mode", disabled=disabled,
                        index=_index_of(modes, settings.retrieval.mode))
    backend = st.selectbox("Backend", backends, key=f"eval_{side}_backend", disabled=disabled,
                           index=_index_of(backends, "local"))
    return ABConfig(side, prompt, None if decoding == PRESET_DEFAULT else decoding, mode, backend)


def _index_of(options: list[str], value: str) -> int:
    return options.index(value) if value in options else 0


def _render_form(settings: Settings, disabled: bool) -> None:
    left, right = st.columns(2)
    with left:
        config_a = _render_config("A", settings, disabled)
    with right:
        config_b = _render_config("B", settings, disabled)
    source = st.radio("Gold set", ["Shipped (data/eval/gold.jsonl)", "Upload a JSONL file"],
                      key="eval_gold_source", horizontal=True, disabled=disabled)
    upload = None
    if source.startswith("Upload"):
        upload = st.file_uploader("Gold set (JSONL: id, question, answer, aliases, relevant, "
                                  "answerable)", type=["jsonl"], key="eval_gold_upload",
                                  disabled=disabled)
    limit = st.number_input("Questions (spread evenly over the set)", min_value=1,
                            value=DEFAULT_LIMIT, step=1, key="eval_limit", disabled=disabled)
    if _fields(config_a) == _fields(config_b):
        st.caption("A and B are the same configuration; the run measures run-to-run noise.")
    if st.button("Run", key="eval_run_button", type="primary", icon=":material/play_arrow:",
                 disabled=disabled):
        name, gold = _load_gold(upload)
        items = spread(gold, int(limit))
        st.session_state[RUN_KEY] = EvalRun(
            dataset=name,
            items=gold_qa_items(items),
            questions={i.id: (i.question, i.answer) for i in items},
            configs=(config_a, config_b),
            rows=[],
        )


def _fields(config: ABConfig) -> tuple[Any, ...]:
    return (config.prompt_preset, config.decoding_preset, config.retrieval_mode, config.backend)


def _load_gold(upload: Any) -> tuple[str, list[Any]]:
    from rag.errors import ConfigError

    if upload is None:
        if st.session_state.get("eval_gold_source", "").startswith("Upload"):
            raise ConfigError("choose a gold set file to upload first")
        return GOLD_PATH.name, load_gold(GOLD_PATH)
    # load_gold reads a path (and names it in its errors), so the upload goes to a temp file.
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as handle:
        handle.write(upload.getvalue())
    try:
        return upload.name, load_gold(Path(handle.name))
    finally:
        os.unlink(handle.name)


def _cancel() -> None:
    run = st.session_state.get(RUN_KEY)
    if run is not None:
        run.cancelled = True


def _step(run: EvalRun, settings: Settings, collection: str) -> None:
    """Show progress, ask the next question, rerun; a Cancel click stops before the next one."""
    total = len(run.jobs)
    done = len(run.rows)
    st.progress(done / total, text=f"{done} of {total} answers ({run.dataset})")
    st.button("Cancel", key="eval_cancel", on_click=_cancel, icon=":material/stop:")
    q, c = run.jobs[done]
    config = run.configs[c]
    item = run.items[q]
    with st.spinner(f"Config {config.name}: {item.question}"):
        run.rows.append(ask_one(settings, collection, config, item))
    st.rerun()


def config_settings(settings: Settings, config: ABConfig) -> Settings:
    """The session's settings with this side's backend and retrieval mode."""
    llm = settings.llm
    if config.backend != llm.backend:
        # The sidebar's model, URL and key belong to its backend; another backend starts bare.
        llm = llm.model_copy(update={"backend": config.backend, "model": "", "base_url": None,
                                     "api_key": None})
    retrieval = settings.retrieval.model_copy(update={"mode": config.retrieval_mode})
    return settings.model_copy(update={"llm": llm, "retrieval": retrieval})


def ask_one(settings: Settings, collection: str, config: ABConfig, item: QAItem) -> AnswerRow:
    """One question through the real ChatService, scored by the harness."""
    from rag.chain import AskRequest

    service = get_service(config_settings(settings, config), collection)
    start = time.perf_counter()
    answer = service.ask(
        AskRequest(
            question=item.question,
            prompt_preset=config.prompt_preset,
            decoding_preset=config.decoding_preset,
            retrieval_mode=config.retrieval_mode,
        )
    )
    seconds = time.perf_counter() - start
    by_number = {s.number: s for s in answer.sources}
    return score_reply(
        item,
        config.name,
        reply=answer.text,
        path=answer.path,
        declined=answer.path == "declined",
        cited_sources=[by_number[n] for n in answer.cited if n in by_number],
        seconds=seconds,
    )


# -- results ---------------------------------------------------------------------------------
def metrics_frame(run: EvalRun) -> pd.DataFrame:
    """One row per configuration: the harness's summary of its answers so far, over the
    questions both configurations answered (a cancelled run stays a like-for-like comparison)."""
    both = set.intersection(*({r.question_id for r in run.rows if r.config == c.name}
                              for c in run.configs))
    records = []
    for config in run.configs:
        rows = [r for r in run.rows if r.config == config.name and r.question_id in both]
        record = summarise_answers(config.name, rows).row()
        record["questions"] = len(rows)
        record["setup"] = config.label.split(": ", 1)[1]
        records.append(record)
    return pd.DataFrame(records).set_index("config")


def diff_frame(run: EvalRun) -> pd.DataFrame:
    """One row per question answered by both configurations."""
    by_key = {(r.question_id, r.config): r for r in run.rows}
    a, b = (c.name for c in run.configs)
    records = []
    for item in run.items:
        row_a, row_b = by_key.get((item.id, a)), by_key.get((item.id, b))
        if row_a is None or row_b is None:
            continue
        question, reference = run.questions[item.id]
        records.append({
            "id": item.id,
            "question": question,
            "reference": reference if item.answerable else "(unanswerable)",
            "reply A": row_a.reply,
            "reply B": row_b.reply,
            "path A": row_a.path,
            "path B": row_b.path,
            "correct A": _ok(row_a),
            "correct B": _ok(row_b),
            "differs": _ok(row_a) != _ok(row_b) or row_a.path != row_b.path,
        })
    columns = ["id", "question", "reference", "reply A", "reply B", "path A", "path B",
               "correct A", "correct B", "differs"]
    return pd.DataFrame(records, columns=columns)


def _ok(row: AnswerRow) -> bool:
    """Right for its kind: answered correctly, or declined an unanswerable question."""
    return row.correct if row.answerable else row.declined


def render_results(run: EvalRun) -> None:
    total = len(run.jobs)
    if run.cancelled:
        st.warning(f"Cancelled after {len(run.rows)} of {total} answers; the results below "
                   "cover the questions both configurations answered.", icon=":material/stop:")
    else:
        st.success(f"Done: {len(run.items)} questions from {run.dataset}, two configurations.",
                   icon=":material/check_circle:")
    for config in run.configs:
        st.caption(config.label)
    metrics = metrics_frame(run)
    st.subheader("Metrics", anchor=False)
    st.dataframe(metrics, key="eval_metrics")
    chart = metrics[list(CHART_METRICS)].T.fillna(0.0)
    st.bar_chart(chart, stack=False, y_label="share")
    st.subheader("Per question", anchor=False)
    diff = diff_frame(run)
    only_diff = st.toggle("Only questions where A and B differ", key="eval_only_diff")
    shown = diff[diff["differs"]] if only_diff else diff
    st.dataframe(shown.style.apply(_highlight, axis=1), hide_index=True, key="eval_diff")
    st.caption(f"{int(diff['differs'].sum())} of {len(diff)} questions differ (highlighted).")
    if st.button("Clear results", key="eval_clear", icon=":material/delete:"):
        del st.session_state[RUN_KEY]
        st.rerun()


def _highlight(row: pd.Series) -> list[str]:
    colour = "background-color: rgba(255, 196, 0, 0.25)" if row["differs"] else ""
    return [colour] * len(row)
