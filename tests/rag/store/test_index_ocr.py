"""Scans through the index: OCR'd pages counted in the report, marked on their chunks, sent as
progress per page, and not read again when the file has not changed (issue 19)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.store.index import DocumentIndex
from rag.store.results import IngestProgress
from rag.store.sources import document_id
from tests.rag.conftest import make_settings

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def scans(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "scans"
    folder.mkdir()
    for name in ("scan_lease.pdf", "scan_fax_g4.pdf", "text_and_picture.pdf"):
        shutil.copy(DATA / name, folder / name)
    return folder


def _index(tmp_path: Path, embeddings, **ingest) -> DocumentIndex:
    settings = make_settings(tmp_path, "memory")
    settings = settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update=ingest)})
    return DocumentIndex(settings, embeddings=embeddings)


def test_scans_are_counted_marked_and_not_read_again(tmp_path, embeddings, scans):
    index = _index(tmp_path, embeddings)
    events: list[IngestProgress] = []
    try:
        report = index.ingest_paths([scans], progress=events.append)

        assert report.failed == 0 and report.ocr_pages == 2
        by_file = {Path(r.path).name: r.ocr_pages for r in report.files}
        assert by_file == {"scan_lease.pdf": 1, "scan_fax_g4.pdf": 1, "text_and_picture.pdf": 0}
        assert report.summary().splitlines()[0].endswith("; 2 pages read by OCR")
        pages = [e.ocr for e in events if e.ocr is not None]
        assert sorted((Path(p.file).name, p.page) for p in pages) == [
            ("scan_fax_g4.pdf", 1), ("scan_lease.pdf", 2)]

        chunks = index.get_chunks(document_id("scans/scan_lease.pdf"))
        ocr = {c.metadata["locator"] for c in chunks if c.metadata.get("ocr")}
        assert ocr == {"page 2"}
        assert any("deposit" in c.page_content for c in chunks if c.metadata.get("ocr"))
        hit = index.search("fax invoice 4471 total due", k=1)[0].doc
        assert hit.metadata["source"] == "scans/scan_fax_g4.pdf" and hit.metadata["ocr"] is True

        again = index.ingest_paths([scans])
        assert {r.status for r in again.files} == {"unchanged"}
        assert again.ocr_pages == 0
    finally:
        index.drop()


def test_changed_ocr_settings_read_scans_again(tmp_path, embeddings, scans):
    first = _index(tmp_path, embeddings)
    try:
        first.ingest_paths([scans / "scan_fax_g4.pdf", scans / "text_and_picture.pdf"])
        second = DocumentIndex(first.settings.model_copy(update={"ingest": first.settings.ingest
                               .model_copy(update={"ocr_dpi": 250})}),
                               collection=first.name, embeddings=embeddings)
        report = second.ingest_paths([scans / "scan_fax_g4.pdf", scans / "text_and_picture.pdf"])
        # The scan is read at the new resolution; the file with a text layer stays unchanged.
        assert [(Path(r.path).name, r.status, r.ocr_pages) for r in report.files] == [
            ("scan_fax_g4.pdf", "ingested", 1), ("text_and_picture.pdf", "unchanged", 0)]
    finally:
        first.drop()


def test_with_ocr_off_a_scan_fails_saying_how_to_turn_it_on(tmp_path, embeddings, scans):
    index = _index(tmp_path, embeddings, ocr=False)
    try:
        report = index.ingest_paths([scans / "scan_fax_g4.pdf"])
        assert report.files[0].status == "failed"
        assert "OCR is off (RAG_INGEST__OCR=true turns it on)" in report.files[0].reason
    finally:
        index.drop()
