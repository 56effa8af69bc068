"""The documents page: upload with live progress, the library table, a retrieval debugger."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import streamlit as st

from ingest.errors import IngestError
from rag.settings import Settings
from rag.store.ingest_jobs import JobSnapshot, forget_job, get_job, start_ingest_job
from rag.store.reingest import reingest_paths
from rag.store.uploads import remove_upload_copy, save_upload
from ui.errors import error_boundary
from ui.library import may_manage_collection
from ui.resources import get_index, shown_store_location
from ui.sidebar import current_choices
from ui.untrusted import inert_markdown

_STATUS_ICONS = {"ingested": "✅ ingested", "unchanged": "⏸️ unchanged", "failed": "❌ failed",
                 "skipped": "⏭️ skipped"}


def render_documents_page() -> None:
    choices = current_choices()
    settings, collection = choices.settings, choices.collection
    location = shown_store_location(settings)
    st.caption(
        f":material/folder_open: Collection **{collection}** · {settings.store.mode} store"
        + (f" at `{location}`" if location is not None else "")
    )
    with st.spinner("Opening the index (the embedding model loads on first use)…"):
        get_index(settings, collection)
    upload_tab, library_tab, debug_tab = st.tabs(
        [":material/upload_file: Upload", ":material/library_books: Library",
         ":material/troubleshoot: Retrieval debugger"]
    )
    with upload_tab, error_boundary():
        _render_upload(settings, collection)
    with library_tab, error_boundary():
        _render_library(settings, collection)
    with debug_tab, error_boundary():
        _render_debugger(settings, collection, choices.k)


# -- upload ----------------------------------------------------------------------------------
# The session's running ingest: the job id plus the rows of uploads refused before ingesting.
_JOB_KEY = "ingest_job"


def _render_upload(settings: Settings, collection: str) -> None:
    generation = st.session_state.setdefault("uploader_generation", 0)
    running = _session_job() is not None
    # Any file type: the content decides the format (.page, .conf, .pom, README...), and
    # binary data comes back as "skipped" with its reason rather than being unselectable.
    files = st.file_uploader(
        "Add documents",
        accept_multiple_files=True,
        key=f"uploader-{generation}",
        help="PDF (scanned too), PNG, JPEG, TIFF, GIF, WebP, BMP, HTML, JSON, JSONL, XML, CSV, "
        "TSV, Markdown, manual pages, or any file whose content is one of them or plain text, "
        f"also compressed (gzip, bzip2, xz); up to {settings.ingest.max_file_mb:g} MB each. "
        "The same file twice is not embedded twice.",
    )
    if files and not running:
        start_upload_job(settings, collection, [(f.name, f.getvalue()) for f in files])
        # A fresh uploader (new key) so a rerun does not ingest the same files again.
        st.session_state["uploader_generation"] = generation + 1
        st.rerun()
    if _session_job() is not None:
        if files:
            st.caption("These files are ingested once the current upload has finished.")
        _render_job_progress()
        return
    results = st.session_state.get("last_ingest")
    if results:
        _render_results(results)


def save_uploads(
    settings: Settings, uploads: list[tuple[str, bytes]]
) -> tuple[list[Path], list[dict]]:
    """Save uploads under the upload dir: the saved paths, and a result row per refused file."""
    saved: list[Path] = []
    refused: list[dict] = []
    for name, data in uploads:
        try:
            saved.append(save_upload(name, data, settings))
        except IngestError as exc:
            refused.append(_row(name, "failed", reason=exc.reason))
    return saved, refused


def start_upload_job(
    settings: Settings, collection: str, uploads: list[tuple[str, bytes]]
) -> None:
    """Save, then ingest in the background; the session keeps the job id to draw progress."""
    saved, refused = save_uploads(settings, uploads)
    _start_session_job(get_index(settings, collection), saved, refused)


def _start_session_job(index, paths: list[Path], rows: list[dict], force: bool = False) -> None:
    job_id = start_ingest_job(index, paths, force=force).job_id if paths else ""
    st.session_state[_JOB_KEY] = {"id": job_id, "rows": rows}


def _session_job() -> dict | None:
    return st.session_state.get(_JOB_KEY)


@st.fragment(run_every=1.0)
def _render_job_progress() -> None:
    """Redrawn every second from the job's snapshot; the script itself never waits for it."""
    with error_boundary():  # a fragment rerun runs outside the page's own error boundary
        _draw_job_progress()


def _draw_job_progress() -> None:
    state = _session_job()
    if state is None:  # finished: later ticks (until the next full run) redraw the results
        if st.session_state.get("last_ingest"):
            _render_results(st.session_state["last_ingest"])
        return
    job = get_job(state["id"]) if state["id"] else None
    snapshot = job.snapshot() if job is not None else None
    if snapshot is not None and not snapshot.finished:
        st.progress(snapshot.fraction, text=snapshot.progress_text)
        return
    rows = list(state["rows"])
    if snapshot is not None:
        rows += _report_rows(snapshot)
    elif state["id"]:  # the job is gone (server restarted): say so rather than spin forever
        rows.append(_row("(upload)", "failed", reason="the ingest job was lost; upload again"))
    st.session_state["last_ingest"] = rows
    st.session_state.pop(_JOB_KEY, None)
    if state["id"]:
        forget_job(state["id"])
    # Drawn here, not by a full rerun from this fragment: such a rerun can race a click on
    # another page and pull the user back here. The Library tab catches up on the next run.
    if rows:
        _render_results(rows)


def _report_rows(snapshot: JobSnapshot) -> list[dict]:
    if snapshot.report is None:
        return [_row("(upload)", "failed", reason=snapshot.error)]
    return [_row(Path(r.path).name, r.status, r.chunks, r.reason_without_path,
                 r.seconds, r.warnings, r.ocr_pages) for r in snapshot.report.files]


def ingest_uploads(
    settings: Settings, collection: str, uploads: list[tuple[str, bytes]]
) -> list[dict]:
    """Save and ingest, waiting for the end (scripts and tests); one result row per file."""
    saved, rows = save_uploads(settings, uploads)
    if saved:
        job = start_ingest_job(get_index(settings, collection), saved)
        job.wait()
        forget_job(job.job_id)
        rows += _report_rows(job.snapshot())
    return rows


def _row(name: str, status: str, chunks: int = 0, reason: str = "", seconds: float = 0.0,
         warnings: tuple[str, ...] = (), ocr_pages: int = 0) -> dict:
    return {"File": name, "Result": _STATUS_ICONS.get(status, status), "Chunks": chunks,
            "OCR pages": ocr_pages, "Seconds": round(seconds, 2), "Reason": reason,
            "Warnings": "; ".join(warnings)}


def _render_results(rows: list[dict]) -> None:
    failed = sum(1 for r in rows if r["Result"].endswith("failed"))
    skipped = sum(1 for r in rows if r["Result"].endswith("skipped"))
    warned = sum(1 for r in rows if r.get("Warnings"))
    ocr_pages = sum(r.get("OCR pages", 0) for r in rows)
    if failed:
        st.warning(f"{failed} of {len(rows)} file(s) could not be ingested; see the reasons.",
                   icon=":material/warning:")
    else:
        st.success(f"{len(rows)} file(s) processed.", icon=":material/check_circle:")
    if skipped:
        st.info(f"{skipped} file(s) skipped (not a document format we read); see the reasons.",
                icon=":material/info:")
    if warned:
        st.info(f"{warned} file(s) ingested with warnings (a guessed encoding, repaired XML, "
                "markup read as HTML); see the Warnings column.", icon=":material/info:")
    if ocr_pages:
        st.info(f"{ocr_pages} page(s) had no text layer and were read by OCR (their sources "
                "say so; OCR text may hold misread words).", icon=":material/document_scanner:")
    st.dataframe(rows, hide_index=True, width="stretch")


# -- library ---------------------------------------------------------------------------------
def _render_library(settings: Settings, collection: str) -> None:
    index = get_index(settings, collection)
    if _session_job() is not None or st.session_state.get("last_ingest"):
        # The table is drawn once per page run; a timed redraw here raced page switches.
        st.button("Refresh after upload", icon=":material/refresh:", key="library_refresh")
    documents = index.list_documents()
    if not documents:
        st.info("No documents in this collection yet. Add some on the Upload tab.",
                icon=":material/info:")
        return
    rows = [
        {
            "Document": Path(d.source).name,
            "Format": d.format,
            "Chunks": d.chunks,
            "Size (KB)": round(d.size_bytes / 1024, 1),
            "Ingested": datetime.fromtimestamp(d.ingested_at).strftime("%Y-%m-%d %H:%M"),
        }
        for d in documents
    ]
    total_chunks = sum(d.chunks for d in documents)
    st.caption(f"{len(documents)} documents · {total_chunks} chunks")
    st.dataframe(rows, hide_index=True, width="stretch")
    by_name = {f"{Path(d.source).name}  ({d.doc_id})": d for d in documents}
    picked = st.multiselect("Select documents", list(by_name), key="library_selection",
                            placeholder="Choose documents to delete or re-ingest")
    left, right = st.columns(2)
    if left.button("Re-ingest", icon=":material/refresh:", disabled=not picked, width="stretch"):
        # Only files in the upload or corpus folders: a registry record can name any path.
        paths, refused = reingest_paths([by_name[p].source for p in picked], settings)
        if refused:
            st.error("Not re-ingested:\n\n" + "\n\n".join(inert_markdown(str(r)) for r in refused))
        elif _session_job() is not None:
            st.warning("An ingest is still running; re-ingest when it has finished.",
                       icon=":material/hourglass_top:")
        else:
            # Same background path as uploads: progress and results show on the Upload tab.
            _start_session_job(index, paths, [], force=True)
            st.rerun()
    # In a shared collection, or one with no owner, only its owner or an admin deletes.
    manage = may_manage_collection(settings, collection)
    if right.button("Delete", icon=":material/delete:", disabled=not picked or not manage,
                    width="stretch", key="delete_documents",
                    help=None if manage else "Only the collection's owner or an admin deletes."):
        for p in picked:
            index.delete(by_name[p].doc_id)
            remove_upload_copy(by_name[p].source, settings)
        st.session_state.pop("library_selection", None)
        st.toast(f"Deleted {len(picked)} document(s)", icon=":material/delete:")
        st.rerun()


# -- retrieval debugger ----------------------------------------------------------------------
def _render_debugger(settings: Settings, collection: str, k: int) -> None:
    st.caption("Raw retrieval, before any answer: where each passage ranks for BM25 (keywords), "
               "dense (embeddings) and their fusion.")
    query = st.text_input("Search query", key="debug_query",
                          placeholder="Type what you would ask…")
    if not query.strip():
        return
    from rag.retrieval.modes import retrieve

    index = get_index(settings, collection)
    chunks = retrieve(index, query.strip(), mode="hybrid", k=max(k, 10),
                      fetch_k=settings.retrieval.fetch_k, min_score=0.0, settings=settings)
    if not chunks:
        st.info("Nothing found.")
        return
    rows = [
        {
            "Fused": c.fused_rank,
            "BM25": c.bm25_rank,
            "Dense": c.dense_rank,
            "Dense score": None if c.dense_score is None else round(c.dense_score, 3),
            "Document": Path(str(c.doc.metadata.get("source", ""))).name,
            "Where": c.doc.metadata.get("locator", ""),
            "Passage": c.doc.page_content[:300],
        }
        for c in chunks
    ]
    st.dataframe(rows, hide_index=True, width="stretch")
