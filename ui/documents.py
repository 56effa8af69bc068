"""The documents page: upload with live progress, the library table, a retrieval debugger."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from ingest.errors import IngestError
from rag.index import IngestProgress
from rag.settings import Settings
from rag.uploads import save_upload
from ui.errors import error_boundary
from ui.resources import get_index, store_location
from ui.sidebar import current_choices

UPLOAD_TYPES = ["pdf", "html", "htm", "json", "jsonl", "ndjson", "xml", "txt", "md", "markdown"]
_STATUS_ICONS = {"ingested": "✅ ingested", "unchanged": "⏸️ unchanged", "failed": "❌ failed"}


def render_documents_page() -> None:
    choices = current_choices()
    settings, collection = choices.settings, choices.collection
    st.caption(
        f":material/folder_open: Collection **{collection}** · {settings.store.mode} store at "
        f"`{store_location(settings)}`"
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
def _render_upload(settings: Settings, collection: str) -> None:
    generation = st.session_state.setdefault("uploader_generation", 0)
    files = st.file_uploader(
        "Add documents",
        type=UPLOAD_TYPES,
        accept_multiple_files=True,
        key=f"uploader-{generation}",
        help=f"PDF, HTML, JSON, JSONL, XML, TXT, Markdown; up to "
        f"{settings.ingest.max_file_mb:g} MB each. The same file twice is not embedded twice.",
    )
    if files:
        results = ingest_uploads(settings, collection, [(f.name, f.getvalue()) for f in files])
        st.session_state["last_ingest"] = results
        # A fresh uploader (new key) so a rerun does not ingest the same files again.
        st.session_state["uploader_generation"] = generation + 1
        st.rerun()
    results = st.session_state.get("last_ingest")
    if results:
        _render_results(results)


def ingest_uploads(
    settings: Settings, collection: str, uploads: list[tuple[str, bytes]]
) -> list[dict]:
    """Save, then ingest with a live progress bar; one result row per uploaded file."""
    rows: list[dict] = []
    saved: list[Path] = []
    for name, data in uploads:
        try:
            saved.append(save_upload(name, data, settings))
        except IngestError as exc:
            rows.append(_row(name, "failed", reason=exc.reason))
    if saved:
        index = get_index(settings, collection)
        bar = st.progress(0.0, text=f"Preparing {len(saved)} file(s)…")
        tracker = _ProgressTracker(bar, len(saved))
        report = index.ingest_paths(saved, progress=tracker)
        bar.progress(1.0, text=tracker.summary())
        for result in report.files:
            rows.append(_row(Path(result.path).name, result.status, result.chunks,
                             result.reason, result.seconds))
    return rows


class _ProgressTracker:
    """Turns the index's progress events into the bar's fraction and text."""

    def __init__(self, bar: DeltaGenerator, total_files: int) -> None:
        self.bar = bar
        self.total_files = total_files
        self.started = time.perf_counter()
        self.files_done = 0
        self.chunks = 0
        self.current = ""

    def __call__(self, event: IngestProgress) -> None:
        self.files_done, self.total_files = event.files_done, event.files_total
        self.chunks, self.current = event.chunks_done, Path(event.current).name
        fraction = min(self.files_done / max(self.total_files, 1), 1.0)
        self.bar.progress(fraction, text=self.summary())

    def summary(self) -> str:
        elapsed = max(time.perf_counter() - self.started, 1e-6)
        current = f" · {self.current}" if self.current else ""
        return (f"{self.files_done}/{self.total_files} files · {self.chunks} chunks · "
                f"{self.chunks / elapsed:.1f} chunks/s{current}")


def _row(name: str, status: str, chunks: int = 0, reason: str = "", seconds: float = 0.0) -> dict:
    return {"File": name, "Result": _STATUS_ICONS.get(status, status), "Chunks": chunks,
            "Seconds": round(seconds, 2), "Reason": reason}


def _render_results(rows: list[dict]) -> None:
    failed = sum(1 for r in rows if r["Result"].endswith("failed"))
    if failed:
        st.warning(f"{failed} of {len(rows)} file(s) could not be ingested; see the reasons.",
                   icon=":material/warning:")
    else:
        st.success(f"{len(rows)} file(s) processed.", icon=":material/check_circle:")
    st.dataframe(rows, hide_index=True, width="stretch")


# -- library ---------------------------------------------------------------------------------
def _render_library(settings: Settings, collection: str) -> None:
    index = get_index(settings, collection)
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
        paths = [Path(by_name[p].source) for p in picked]
        missing = [p.name for p in paths if not p.is_file()]
        if missing:
            st.error("Source file no longer on disk: " + ", ".join(missing))
        else:
            bar = st.progress(0.0, text="Re-ingesting…")
            report = index.ingest_paths(paths, progress=_ProgressTracker(bar, len(paths)),
                                        force=True)
            st.session_state["last_ingest"] = [
                _row(Path(r.path).name, r.status, r.chunks, r.reason, r.seconds)
                for r in report.files
            ]
            st.rerun()
    if right.button("Delete", icon=":material/delete:", disabled=not picked, width="stretch"):
        for p in picked:
            index.delete(by_name[p].doc_id)
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
    from rag.retrieval import retrieve

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
