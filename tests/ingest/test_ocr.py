"""OCR of scanned PDFs and images (Tesseract from `make ocr-deps`), on the scans that
tests/data/make_scanned_files.py writes: a grey JPEG scan, a CCITT G4 fax page, JBIG2 pages
(one poster-sized), pages turned by /Rotate and scanned sideways, a page with text and a
picture, a PNG and a 2-page TIFF."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from ingest import IngestError, ParseLimits, parse_bytes, parse_file
from ingest.errors import NotADocumentError
from ingest.isolation import ParserPool
from ingest.limits import Deadline
from ingest.ocr import MAX_OCR_PIXELS, OcrOptions, ocr_image
from ingest.pdf_ocr import render_page
from tests.data.make_scanned_files import PICTURE_WORD
from tests.ingest.conftest import DATA, read

OCR = OcrOptions()


def words(text: str) -> str:
    return " ".join(text.split()).casefold()


def test_only_the_scanned_page_is_read_by_ocr_and_keeps_its_page():
    parsed = parse_file(DATA / "scan_lease.pdf", ocr=OCR)

    assert [u.metadata["locator"] for u in parsed.units] == ["page 1", "page 2", "page 3"]
    assert [u.metadata.get("ocr", False) for u in parsed.units] == [False, True, False]
    assert parsed.ocr_pages == 1
    scan = words(parsed.units[1].page_content)
    for expected in ("rental agreement", "quay street", "deposit of 2,500 euros", "thirty days"):
        assert expected in scan
    assert parsed.units[0].page_content.startswith("Cover letter")  # the text layer, as is


def test_a_ccitt_group4_fax_page_is_read():
    parsed = parse_file(DATA / "scan_fax_g4.pdf", ocr=OCR)

    text = words(parsed.units[0].page_content)
    assert "invoice number 4471" in text and "389.50 eur" in text
    assert parsed.units[0].metadata["ocr"] is True and parsed.ocr_pages == 1


def test_jbig2_pages_are_read_and_a_poster_at_a_resolution_within_the_pixel_cap():
    parsed = parse_file(DATA / "scan_jbig2.pdf", ocr=OCR)

    assert [u.metadata["page"] for u in parsed.units] == [1, 2] and parsed.ocr_pages == 2
    for unit in parsed.units:
        assert "spare lens prisms" in words(unit.page_content)
        assert "forty litres of lamp oil" in words(unit.page_content)
    document = pdfium.PdfDocument(DATA / "scan_jbig2.pdf")
    a4, a4_dpi = render_page(document[0], 300)
    poster, poster_dpi = render_page(document[1], 300)
    assert a4_dpi == 300 and abs(a4.width - 595.28 * 300 / 72) <= 1
    assert poster_dpi < 300 and poster.width * poster.height <= MAX_OCR_PIXELS


def test_rotated_pages_are_read_upright():
    parsed = parse_file(DATA / "scan_rotated.pdf", ocr=OCR)

    by_page = {u.metadata["page"]: words(u.page_content) for u in parsed.units}
    assert "every morning" in by_page[1] and "oil level" in by_page[1]  # turned by /Rotate
    assert "clockwork" in by_page[2] and "storm" in by_page[2]  # by orientation detection


def test_a_page_with_text_and_a_picture_keeps_its_text_layer():
    parsed = parse_file(DATA / "text_and_picture.pdf", ocr=OCR)

    assert parsed.ocr_pages == 0
    assert "ocr" not in parsed.units[0].metadata
    assert "cast iron stove" in words(parsed.units[0].page_content)
    assert PICTURE_WORD.casefold() not in words(parsed.units[0].page_content)


def test_images_are_read_page_by_page():
    png = parse_file(DATA / "scan_lease.png", ocr=OCR)
    assert png.format == "image" and png.ocr_pages == 1
    assert "monthly rent is 1,250" in words(png.units[0].page_content)

    tiff = parse_file(DATA / "fax_two_pages.tiff", ocr=OCR)
    assert [u.metadata["locator"] for u in tiff.units] == ["page 1", "page 2"]
    assert "nordvik marine" in words(tiff.units[0].page_content)
    assert "chimney glass" in words(tiff.units[1].page_content)


def test_progress_comes_per_page():
    pages = []
    parse_file(DATA / "scan_rotated.pdf", ocr=OCR, progress=pages.append)

    assert [(p.page, p.done, p.total) for p in pages] == [(1, 1, 2), (2, 2, 2)]
    assert all(p.file == "scan_rotated.pdf" and p.seconds > 0 for p in pages)
    assert "OCR scan_rotated.pdf page 2 (2/2 pages without text" in pages[1].describe()


def test_with_ocr_off_the_old_message_says_how_to_turn_it_on():
    with pytest.raises(IngestError) as caught:
        parse_file(DATA / "scan_fax_g4.pdf")
    assert caught.value.reason == ("no text layer (image-only/scanned PDF); OCR is off "
                                   "(RAG_INGEST__OCR=true turns it on)")

    partly = parse_file(DATA / "scan_lease.pdf")  # the pages with text, and a warning
    assert [u.metadata["page"] for u in partly.units] == [1, 3]
    assert partly.warnings == ("1 page(s) without a text layer not read: OCR is off "
                               "(RAG_INGEST__OCR=true turns it on)",)

    with pytest.raises(NotADocumentError) as image:
        parse_file(DATA / "scan_lease.png")
    assert "OCR is off" in image.value.reason


def test_a_missing_language_is_named_with_how_to_install_it():
    with pytest.raises(IngestError) as caught:
        parse_file(DATA / "scan_fax_g4.pdf", ocr=OcrOptions(languages=("eng", "zzz")))
    assert "OCR language data not installed: zzz" in caught.value.reason
    assert 'make ocr-deps OCR_LANGS="eng zzz"' in caught.value.reason


def test_an_image_without_text_is_not_a_document():
    import io

    buffer = io.BytesIO()
    Image.new("L", (400, 300), 255).save(buffer, "PNG")
    with pytest.raises(NotADocumentError) as caught:
        parse_bytes(buffer.getvalue(), "blank.png", ocr=OCR)
    assert caught.value.reason == "an image in which OCR found no text"

    with pytest.raises(IngestError) as broken:
        parse_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300), "broken.png", ocr=OCR)
    assert broken.value.reason.startswith("not a readable image (corrupt or truncated)")


def test_tesseract_is_stopped_when_the_file_runs_out_of_time():
    image = Image.open(DATA / "scan_lease.png").convert("L")
    image = image.resize((image.width * 3, image.height * 3))  # seconds of work
    started = time.monotonic()
    with pytest.raises(IngestError) as caught:
        ocr_image(image, OCR, Deadline("big.png", ParseLimits(max_seconds=0.3)), "big.png",
                  "page 1")
    assert caught.value.reason == (
        "parsing took longer than the limit of 0.3 s (OCR of page 1 was stopped; OCR takes "
        "seconds a page, so a long scan needs a higher RAG_INGEST__MAX_SECONDS_PER_FILE)")
    assert time.monotonic() - started < 2.0


@pytest.fixture
def slow_tesseract(tmp_path, monkeypatch) -> Path:
    """A ``tesseract`` on PATH that knows English and then hangs, writing its pid to a file."""
    pids = tmp_path / "pids"
    script = tmp_path / "bin" / "tesseract"
    script.parent.mkdir()
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = --list-langs ]; then echo "List of available languages (1):"; '
        "echo eng; exit 0; fi\n"
        f"echo $$ >> {pids}\n"
        "exec sleep 60\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    return pids


def test_a_parse_worker_over_its_time_leaves_no_tesseract_running(slow_tesseract):
    pool = ParserPool(1)  # workers started now see the slow tesseract first on PATH
    try:
        started = time.monotonic()
        with pytest.raises(IngestError) as caught:
            pool.parse(read("scan_fax_g4.pdf"), "fax.pdf", ParseLimits(max_seconds=2.0), OCR)
        assert caught.value.reason.startswith("parsing took longer than the limit of 2 s (OCR "
                                              "of page 1 was stopped; ")
        assert time.monotonic() - started < 10
    finally:
        pool.close()
    pid = int(slow_tesseract.read_text().split()[0])
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_parse_worker_leads_its_process_group_which_stop_kills_whole():
    pool = ParserPool(1)
    pool.parse(read("sample.pdf"), "sample.pdf")  # starts a worker, left idle
    worker = pool._idle[0]
    pid = worker.process.pid
    # Tesseract, started by the worker, is in this group: stopping the group stops it too.
    assert os.getpgid(pid) == pid
    pool.close()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
