"""Uploading on the Documents page: every file gets a row with its result and reason, and the
reason never shows the server's upload folder."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

DATA = Path(__file__).resolve().parents[1] / "data"


def upload_files(root: str, data: str, bundle: str) -> None:
    """Runs inside AppTest (its source is executed alone: imports go inside)."""
    from pathlib import Path

    import streamlit as st

    from rag.settings import IngestSettings, Settings, StoreSettings
    from ui.documents import ingest_uploads

    base = Path(root)
    settings = Settings(
        data_dir=base / "data", cache_dir=base / "cache",
        store=StoreSettings(mode="disk", path=base / "index", collection="uploads"),
        ingest=IngestSettings(upload_dir=base / "uploads"),
    )
    uploads = [(name, (Path(data) / name).read_bytes())
               for name in ("NEWS.Debian.gz", "manpage.example.sgml")]
    uploads.append(("bundle.tar.gz", Path(bundle).read_bytes()))
    st.session_state["rows"] = ingest_uploads(settings, "uploads", uploads)


@pytest.mark.slow
def test_compressed_and_sgml_uploads_are_read_and_an_archive_is_skipped_with_its_reason(
        tmp_path, embeddings):
    bundle = tmp_path / "bundle.tar.gz"
    with tarfile.open(bundle, "w:gz") as tar:
        tar.add(DATA / "notes.txt", "notes.txt")
    root = tmp_path / "app"
    at = AppTest.from_function(upload_files, args=(str(root), str(DATA), str(bundle)),
                               default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    rows = {r["File"]: r for r in at.session_state["rows"]}
    assert {name: r["Result"] for name, r in rows.items()} == {
        "NEWS.Debian.gz": "✅ ingested",
        "manpage.example.sgml": "✅ ingested",
        "bundle.tar.gz": "⏭️ skipped",
    }
    reason = rows["bundle.tar.gz"]["Reason"]
    assert reason.startswith("its gzip content: unsupported file type .tar; supported:")
    assert str(root) not in reason and "uploads" not in reason
    assert rows["manpage.example.sgml"]["Warnings"].endswith("read as HTML instead (its text, "
                                                             "not its XML records)")
    assert rows["NEWS.Debian.gz"]["Warnings"] == ""
