"""The Evaluate page's corpus check: is data/corpus (what the shipped gold set asks about) in
the collection, and if not, ingest it in a background job.

The ingest runs as a *named* job (``rag.store.ingest_jobs.start_named_ingest_job``), not in the
script run. It used to run inside the script run that carried the Ingest click, and Streamlit's
fast reruns lose such work: a click on Run replaces the running script run with a new one.
Clicked before that run reached the ingest, the ingest never happened (0 of 14 files after 16 s
in the browser); clicked later, it went on unseen while the new run found the corpus missing,
offered it again and evaluated against whatever was there. Now the button's callback (run first
thing in the next script run) starts the job, every later run (or another session on the
collection) finds it by name, a run waits for it, and Run stays off while the corpus is missing
and no ingest is going.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from rag.settings import Settings
from rag.store.ingest_jobs import IngestJob, JobSnapshot, named_job, start_named_ingest_job
from ui.errors import error_boundary
from ui.resources import store_location
from ui.untrusted import inert_markdown

REPO = Path(__file__).resolve().parents[1]
GOLD_CORPUS = REPO / "data" / "corpus"
CORPUS_JOB_KEY = "eval_corpus_job"  # session: the corpus job this session started or watched


def corpus_files() -> list[Path]:
    return sorted(p for p in GOLD_CORPUS.iterdir() if p.is_file()) if GOLD_CORPUS.is_dir() else []


def missing_corpus_files(index: Any) -> list[str]:
    """Names of data/corpus files the collection does not hold (matched by file name tail)."""
    from rag.eval.relevance import same_source

    held = [str(d.source) for d in index.list_documents()]
    return [
        p.name
        for p in corpus_files()
        if not any(same_source(source, f"data/corpus/{p.name}") for source in held)
    ]


def corpus_job_name(settings: Settings, collection: str) -> str:
    """One corpus ingest per index: the parts that make an index different."""
    return "|".join(("eval-corpus", settings.store.mode, store_location(settings), collection,
                     settings.embedding.model))


def running_corpus_job(settings: Settings, collection: str) -> IngestJob | None:
    job = named_job(corpus_job_name(settings, collection))
    return job if job is not None and not job.finished else None


def render_corpus_check(
    settings: Settings, collection: str, index: Any, *, live: bool
) -> str | None:
    """Ingest progress, the last ingest's outcome, or the offer to ingest what is missing.

    Returns why a run cannot start yet (files missing and no ingest under way), else None: a
    run started during the ingest waits for it. ``live``: redraw the progress every second by
    itself; otherwise the page reruns anyway (a run in progress) and draws it each time.
    """
    name = corpus_job_name(settings, collection)
    # Three fixed slots (status, notice, button), each drawn or left empty on every run. A
    # run during an evaluation ends in st.rerun(), and Streamlit clears what a run did not
    # redraw only when a run ends normally: an element dropped from the end of a container
    # would stay on screen (the Ingest button under the progress bar, clickable) for the whole
    # evaluation. An empty slot replaces whatever was there before.
    status, notice, button = st.empty(), st.empty(), st.empty()
    job = named_job(name)
    if job is not None and not job.finished:
        st.session_state[CORPUS_JOB_KEY] = job.job_id  # watched here: show how it ended too
        with status.container():
            if live:
                _live_progress(name)
            else:
                _draw_job(job.snapshot())
        return None
    if job is not None and st.session_state.get(CORPUS_JOB_KEY) == job.job_id:
        with status.container():
            _draw_job(job.snapshot())
    missing = missing_corpus_files(index)
    if not missing:
        return None
    notice.info(
        f"Collection **{inert_markdown(collection)}** does not hold {len(missing)} of the "
        f"{len(corpus_files())} files in `data/corpus` that the shipped gold set asks "
        "about, so its questions would be judged against the wrong documents.",
        icon=":material/info:",
    )
    # A callback, not ``if st.button(...)``: callbacks run first thing in the next script run,
    # so a second click right after (say on Run) cannot stop that run before the job starts.
    # And Run stays off until then: a Run click right after this one could otherwise stop the
    # script run that carries this click before its callback ran, and evaluate without it.
    button.button("Ingest data/corpus into this collection", key="eval_ingest_corpus",
                  icon=":material/upload:", on_click=_start_ingest, args=(name, index))
    return "Ingest data/corpus first (or upload a gold set about this collection's documents)."


def _start_ingest(name: str, index: Any) -> None:
    job = start_named_ingest_job(name, index, corpus_files())
    st.session_state[CORPUS_JOB_KEY] = job.job_id


@st.fragment(run_every=1.0)
def _live_progress(name: str) -> None:
    with error_boundary():  # a fragment rerun runs outside the page's own error boundary
        job = named_job(name)
        if job is not None:
            _draw_job(job.snapshot())


def _draw_job(snapshot: JobSnapshot) -> None:
    if not snapshot.finished:
        st.progress(snapshot.fraction, text=f"Ingesting data/corpus: {snapshot.progress_text} "
                    f"({snapshot.seconds:.0f} s). A run started now begins when it is done.")
        return
    if snapshot.report is None:
        st.error(f"Ingesting data/corpus failed: {inert_markdown(str(snapshot.error))}",
                 icon=":material/error:")
        return
    report = snapshot.report
    failed = [f"{Path(r.path).name}: {r.reason_without_path}" for r in report.files
              if r.status == "failed"]
    counts = (f"{report.ingested} ingested, {report.unchanged} unchanged, "
              f"{report.failed} failed in {snapshot.seconds:.0f} s")
    if failed:
        st.warning(f"data/corpus ingest finished ({counts}): " + inert_markdown("; ".join(failed)),
                   icon=":material/warning:")
    else:
        st.success(f"data/corpus ingested ({counts}).", icon=":material/check_circle:")
