"""Isolation through the app's own code paths: hostile upload names stay inside the upload
folder all the way to the index, no page renders document text as HTML, and a collection is
deleted only after its confirmation box is ticked.

Function-level checks of ``sanitize_filename`` / ``save_upload`` (symlinks included) are in
tests/rag/store/test_uploads.py; the escaped ``<script>`` snippet is tested in tests/ui/test_app.py
(test_script_in_a_document_snippet_is_shown_as_text_not_html). Not repeated here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.errors import AppTestError

from tests.reliability.helpers import REPO

HOSTILE_NAMES = [
    "../../escape-up.md",
    "/etc/passwd-abs.txt",
    "C:\\Windows\\System32\\drivers.txt",
    "..\\..\\backslash-up.md",
    "nested/dir/inner.md",
    "nul\x00byte.md",
    "a" * 300 + ".md",
    "..",
    "\u202etxt.exe.md",  # right-to-left override disguising the extension
]


def upload_page(root: str, names: list[str]) -> None:
    """Runs inside AppTest (its source is executed alone: imports go inside)."""
    from pathlib import Path

    import streamlit as st

    from rag.settings import ChunkSettings, IngestSettings, Settings, StoreSettings
    from ui.documents import ingest_uploads

    base = Path(root)
    settings = Settings(
        data_dir=base / "data", cache_dir=base / "cache",
        store=StoreSettings(mode="disk", path=base / "index", collection="uploads"),
        chunking=ChunkSettings(chunk_tokens=64, overlap_tokens=0),
        ingest=IngestSettings(upload_dir=base / "uploads"),
    )
    uploads = [(name, f"# Upload {i}\n\nUploaded text number {i}.\n".encode())
               for i, name in enumerate(names)]
    st.session_state["rows"] = ingest_uploads(settings, "uploads", uploads)


@pytest.mark.slow
def test_hostile_upload_names_land_inside_the_upload_folder_and_index(tmp_path, embeddings):
    root = tmp_path / "app"
    outside_before = set(tmp_path.rglob("*"))
    at = AppTest.from_function(upload_page, args=(str(root), HOSTILE_NAMES),
                               default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    rows = at.session_state["rows"]
    assert len(rows) == len(HOSTILE_NAMES)
    # ".." leaves no name at all: saved as "upload", read by its content (text) like the rest.
    assert all(r["Result"] == "✅ ingested" for r in rows), rows
    assert "upload" in [r["File"] for r in rows]

    uploads = (root / "uploads").resolve()
    created = set(tmp_path.rglob("*")) - outside_before
    stray = [p for p in created if p.is_file()
             and not any(p.resolve().is_relative_to(root / d)
                         for d in ("uploads", "index", "cache", "data"))]
    assert not stray, stray
    saved = sorted(p for p in uploads.iterdir() if p.is_file())
    assert len(saved) == len(HOSTILE_NAMES)  # no two names collapsed into one file
    for path in saved:
        assert path.parent == uploads
        assert len(path.name) <= 200 and "\x00" not in path.name and "\u202e" not in path.name
        assert ".." not in path.name and "\\" not in path.name
    assert not (tmp_path / "escape-up.md").exists() and not Path("/etc/passwd-abs.txt").exists()

    from rag.settings import Settings, StoreSettings
    from rag.store.index import DocumentIndex

    index = DocumentIndex(
        Settings(store=StoreSettings(mode="disk", path=root / "index", collection="uploads")),
        embeddings=embeddings,
    )
    sources = sorted(Path(d.source).resolve() for d in index.list_documents())
    assert sources == saved  # indexed as the saved files


def test_no_page_renders_text_as_html_except_the_escaped_snippet():
    """The only raw-HTML sinks are the fixed style block and the escaped snippet renderer."""
    sinks = {}
    for path in [REPO / "app.py", *sorted((REPO / "ui").rglob("*.py"))]:
        text = path.read_text(encoding="utf-8")
        count = len(re.findall(r"unsafe_allow_html\s*=\s*True|st\.html\(|components\.v1", text))
        if count:
            sinks[path.relative_to(REPO).as_posix()] = count
    assert sinks == {"app.py": 1, "ui/sources.py": 1}, sinks
    sources_code = (REPO / "ui" / "sources.py").read_text(encoding="utf-8")
    # Snippet text goes through the one helper that makes others' text inert.
    assert "inert_markdown(" in sources_code or "html.escape" in sources_code


@pytest.fixture
def app_with_a_collection(tmp_path, monkeypatch, embeddings):
    from rag.settings import Settings
    from rag.store.index import DocumentIndex

    env = {
        "RAG_DATA_DIR": str(tmp_path / "data"),
        "RAG_STORE__PATH": str(tmp_path / "index"),
        "RAG_STORE__MODE": "disk",
        "RAG_CACHE_DIR": str(tmp_path / "cache"),
        "RAG_INGEST__UPLOAD_DIR": str(tmp_path / "uploads"),
        "RAG_STORE__COLLECTION": "keepme",
        "RAG_LLM__BACKEND": "local",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "doc.md").write_text("# Keep\n\nThis document must survive.\n", "utf-8")
    index = DocumentIndex(Settings(), embeddings=embeddings)
    assert index.ingest_paths([tmp_path / "doc.md"]).failed == 0
    return index


@pytest.mark.slow
def test_collection_is_deleted_only_after_confirmation(app_with_a_collection):
    from rag.store.clients import list_collections

    index = app_with_a_collection
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    delete = at.button(key="delete_coll")
    assert delete.disabled, "the delete button must wait for the confirmation box"
    with pytest.raises(AppTestError, match="disabled"):  # nor can a browser click it
        delete.click()
    at.run()
    assert "keepme" in list_collections(index.client)
    assert len(index.list_documents()) == 1

    at.checkbox(key="confirm_delete-keepme").check().run()
    assert not at.button(key="delete_coll").disabled
    at.button(key="delete_coll").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]  # the error boundary shows, not raises
    assert "keepme" not in list_collections(index.client)
