"""Uploading scans on the Documents page: each file's row counts the pages read by OCR."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

DATA = Path(__file__).resolve().parents[1] / "data"


def upload_scans(root: str, data: str) -> None:
    """Runs inside AppTest (its source is executed alone: imports go inside)."""
    from pathlib import Path

    import streamlit as st

    from rag.settings import IngestSettings, Settings, StoreSettings
    from ui.documents import ingest_uploads

    base = Path(root)
    settings = Settings(
        data_dir=base / "data", cache_dir=base / "cache",
        store=StoreSettings(mode="disk", path=base / "index", collection="scans"),
        ingest=IngestSettings(upload_dir=base / "uploads"),
    )
    names = ["scan_lease.png", "scan_fax_g4.pdf", "text_and_picture.pdf"]
    uploads = [(name, (Path(data) / name).read_bytes()) for name in names]
    st.session_state["rows"] = ingest_uploads(settings, "scans", uploads)


@pytest.mark.slow
def test_uploaded_scans_are_ingested_with_their_ocr_pages_counted(tmp_path, embeddings):
    at = AppTest.from_function(upload_scans, args=(str(tmp_path), str(DATA)),
                               default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    rows = {r["File"]: r for r in at.session_state["rows"]}
    assert {name: (r["Result"], r["OCR pages"]) for name, r in rows.items()} == {
        "scan_lease.png": ("✅ ingested", 1),
        "scan_fax_g4.pdf": ("✅ ingested", 1),
        "text_and_picture.pdf": ("✅ ingested", 0),
    }
