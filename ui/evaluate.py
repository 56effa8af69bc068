"""The Evaluate page: A/B two configurations over a gold set, side by side.

A run asks one question per script run and then calls ``st.rerun()``: partial results live in
session state, so a click on Cancel (which reruns the script) takes effect before the next
question instead of waiting for the whole run. The run itself (configurations, asking one
question, the results' rows) is ``rag.eval.ab``, which ``python -m rag eval-ab`` runs from a
terminal; the results are drawn by ``ui.evaluate_results`` and the data/corpus check is
``ui.evaluate_corpus``.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import streamlit as st

from ingest.errors import IngestError
from rag.eval.ab import MEASURES, RETRIEVAL, ABConfig, EvalRun, plan_run, with_reply
from rag.eval.datasets import GoldItem, load_gold
from rag.llm.presets import list_decoding_presets, list_prompt_presets
from rag.settings import Settings
from ui.errors import error_boundary, mask_secrets, session_api_keys
from ui.evaluate_corpus import render_corpus_check, running_corpus_job
from ui.evaluate_results import RUN_KEY, render_results
from ui.resources import get_index
from ui.sidebar import REPLY_LABELS, current_choices
from ui.untrusted import inert_markdown

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
GOLD_PATH = REPO / "data" / "eval" / "gold.jsonl"
DEFAULT_LIMIT = 10  # the local model takes seconds per answer on a laptop CPU
PRESET_DEFAULT = "(prompt preset's own)"
SHIPPED = "Shipped (data/eval/gold.jsonl)"
UPLOAD = "Upload a JSONL file"
RUN_REQUESTED_KEY = "eval_run_requested"  # session state: Run clicked, not yet started


# -- page ------------------------------------------------------------------------------------
def render_evaluate_page() -> None:
    choices = current_choices()
    settings, collection = choices.settings, choices.collection
    st.caption(
        f":material/science: A/B two configurations over a gold set, using collection "
        f"**{collection}**: answers (asks the LLM) or retrieval only (seconds, no LLM)."
    )
    index = None
    with error_boundary(), st.spinner("Opening the index (the embedding model loads on first "
                                      "use)…"):
        index = get_index(settings, collection)
    if index is None:  # the boundary has shown why
        return
    with error_boundary():
        _render_form(settings, collection, index, disabled=_running())
    run: EvalRun | None = st.session_state.get(RUN_KEY)
    if run is None:
        return
    # A step ends in st.rerun(), and Streamlit keeps on screen what a rerun did not redraw:
    # inside one container, a new run's progress would sit on top of the last run's results.
    # Two slots instead: the one not in use is an empty element, which replaces the old
    # container whole.
    progress_slot, results_slot = st.empty(), st.empty()
    with (results_slot if run.done else progress_slot).container(), error_boundary():
        st.divider()
        if run.done:
            render_results(run)
        else:
            _step(run, settings, collection, index)


def _render_form(settings: Settings, collection: str, index: Any, disabled: bool) -> None:
    left, right = st.columns(2)
    measure = left.radio("Measure", list(MEASURES), format_func=MEASURES.__getitem__,
                         key="eval_measure", disabled=disabled)
    source = right.radio("Gold set", [SHIPPED, UPLOAD], key="eval_gold_source",
                         disabled=disabled)
    upload = None
    blocked: str | None = None  # why Run is off
    if source == UPLOAD:
        upload = st.file_uploader("Gold set (JSONL: id, question, answer, aliases, relevant, "
                                  "answerable)", type=["jsonl"], key="eval_gold_upload",
                                  disabled=disabled)
    else:
        # In a container of its own, in fixed slots: what follows keeps its place on the page.
        with st.container(), error_boundary():
            blocked = render_corpus_check(settings, collection, index, live=not disabled)
    left, right = st.columns(2)
    with left:
        config_a = _render_config("A", settings, measure, disabled)
    with right:
        config_b = _render_config("B", settings, measure, disabled)
    narrow, _ = st.columns([1, 2])  # a count does not need the page's width
    limit = narrow.number_input("Questions (spread evenly over the set)", min_value=1,
                                value=DEFAULT_LIMIT, step=1, key="eval_limit", disabled=disabled)
    plan = None
    if source == UPLOAD and upload is None:
        blocked = blocked or "Choose a gold set file to upload."
    # One container whatever it holds (nothing during a run): the elements below keep their
    # places, so a step's rerun leaves no stale element behind on the page.
    with st.container():
        if not disabled and not (source == UPLOAD and upload is None):
            with error_boundary():  # a malformed upload says why here, before anything runs
                dataset, gold = _load_gold(source, upload)
                plan = plan_run(measure, dataset, gold, int(limit), (config_a, config_b))
        if plan is not None:
            # What Run will do; it also tells a user (or a test) that the last change landed.
            st.caption(f"Run asks {len(plan.question_ids)} questions from "
                       f"{inert_markdown(plan.dataset)} with "
                       f"A ({config_a.setup(measure)}) and B ({config_b.setup(measure)}): "
                       f"{len(plan.jobs)} {plan.unit}.")
            if config_a.same_as(config_b, measure):
                st.caption("A and B are the same configuration; the run measures run-to-run "
                           "noise.")
        if blocked and not disabled:
            st.caption(f":material/block: {blocked}")
    # The click is recorded by a callback, not read from ``if st.button(...)``: a button's
    # click lives for one script run, so a run replaced by another before it reaches this line
    # (fast reruns) would drop it. The flag stays until a run gets here, and the plan started
    # is the one drawn above, with every widget value sent along with the click.
    can_run = not disabled and plan is not None and not blocked
    st.button("Run", key="eval_run_button", type="primary", icon=":material/play_arrow:",
              disabled=not can_run, on_click=_request_run)
    if st.session_state.pop(RUN_REQUESTED_KEY, False) and can_run:
        st.session_state[RUN_KEY] = plan
        # This run drew the form enabled; the first question would keep it so on screen for
        # as long as it takes. Draw the page again first: from now on the form is disabled.
        st.rerun()


def _request_run() -> None:
    st.session_state[RUN_REQUESTED_KEY] = True


def _running() -> bool:
    run = st.session_state.get(RUN_KEY)
    return run is not None and not run.done


def _render_config(side: str, settings: Settings, measure: str, disabled: bool) -> ABConfig:
    from rag.llm import BACKENDS
    from rag.retrieval.modes import RETRIEVAL_MODES

    modes = list(RETRIEVAL_MODES)
    st.markdown(f"**Configuration {side}**")
    mode = st.selectbox("Retrieval mode", modes, key=f"eval_{side}_mode", disabled=disabled,
                        index=_index_of(modes, settings.retrieval.mode))
    if measure == RETRIEVAL:  # the rest only shapes the answer
        return ABConfig(side, settings.prompt_preset, None, mode, settings.llm.backend)
    prompts = list_prompt_presets()
    decodings = [PRESET_DEFAULT, *list_decoding_presets()]
    backends = list(BACKENDS)
    backend = st.selectbox("Backend", backends, key=f"eval_{side}_backend", disabled=disabled,
                           index=_index_of(backends, "local"))
    replies = list(REPLY_LABELS)
    reply = st.selectbox("Reply", replies, key=f"eval_{side}_reply", disabled=disabled,
                         index=_index_of(replies, settings.answer.reply),
                         format_func=REPLY_LABELS.__getitem__)
    draft = with_reply(ABConfig(side, settings.prompt_preset, None, mode, backend), reply,
                       settings)
    # A quote asks no LLM: the presets would change nothing, so they are not offered.
    quoting = draft.reply == "quote"
    prompt = st.selectbox("Prompt preset", prompts, key=f"eval_{side}_prompt",
                          disabled=disabled or quoting,
                          index=_index_of(prompts, settings.prompt_preset))
    decoding = st.selectbox("Decoding preset", decodings, key=f"eval_{side}_decoding",
                            disabled=disabled or quoting)
    return replace(draft, prompt_preset=prompt,
                   decoding_preset=None if decoding == PRESET_DEFAULT else decoding)


def _index_of(options: list[str], value: str) -> int:
    return options.index(value) if value in options else 0


def _load_gold(source: str, upload: Any) -> tuple[str, list[GoldItem]]:
    from rag.errors import ConfigError

    if source != UPLOAD:
        return GOLD_PATH.name, load_gold(GOLD_PATH)
    if upload is None:
        raise ConfigError("choose a gold set file to upload first")
    # load_gold reads a path (and names it in its errors), so the upload goes to a temp file.
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as handle:
        handle.write(upload.getvalue())
    try:
        return upload.name, load_gold(Path(handle.name))
    finally:
        os.unlink(handle.name)


# -- one step of a run -----------------------------------------------------------------------
def _cancel() -> None:
    run = st.session_state.get(RUN_KEY)
    if run is not None:
        run.cancelled = True


def _step(run: EvalRun, settings: Settings, collection: str, index: Any) -> None:
    """Show progress, ask the next question, rerun; a Cancel click stops before the next one."""
    total = len(run.jobs)
    done = len(run.rows)
    st.progress(done / total, text=f"{done} of {total} {run.unit} ({run.dataset})")
    st.button("Cancel", key="eval_cancel", on_click=_cancel, icon=":material/stop:")
    ingest = running_corpus_job(settings, collection)
    if ingest is not None:
        # The collection is still filling: a question asked now would be judged against part
        # of the corpus. Wait in short slices so the page keeps redrawing the ingest progress.
        st.info("Waiting for the data/corpus ingest to finish; the first question is asked "
                "when it is done.", icon=":material/hourglass_top:")
        ingest.wait(timeout=1.0)
        st.rerun()
    # A script run replaced by a click (fast reruns) may still be asking its question: let it
    # finish rather than ask the same one twice.
    if not run.lock.acquire(timeout=1.0):
        st.rerun()
    try:
        job = run.next_job()
        if job is not None and not run.cancelled:
            question = run.questions[job[0]][0]
            with st.spinner(f"Config {job[1]}: {question}"):
                run.run_job(job, settings, index)
    except Exception as exc:  # end the run with the reason instead of retrying it forever
        run.error = _error_text(exc)
    finally:
        run.lock.release()
    st.rerun()


def _error_text(exc: Exception) -> str:
    from rag.errors import RagError

    if isinstance(exc, RagError | IngestError):
        return mask_secrets(str(exc), session_api_keys())
    log.error("evaluation step failed: %s", mask_secrets(repr(exc), session_api_keys()))
    return f"Something went wrong ({type(exc).__name__}). The details are in the server log."

