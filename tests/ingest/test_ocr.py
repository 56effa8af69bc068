"""OCR of scanned PDFs and images (Tesseract from `make ocr-deps`), on the scans that
tests/data/make_scanned_files.py writes: a grey JPEG scan, a CCITT G4 fax page, JBIG2 pages
(one poster-sized), pages turned by /Rotate and scanned sideways, a page with text and a
picture, a PNG and a 2-page TIFF."""

from __future__ import annotations

import io
import os
import stat
import time
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from ingest import IngestError, ParseLimits, parse_bytes, parse_file
from ingest.errors import NotADocumentError
from ingest.isolation import KILL_GRACE_S, ParserPool
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


@pytest.mark.parametrize("image_format", ["GIF", "WEBP", "BMP"])
def test_gif_webp_and_bmp_are_read_like_png(image_format):
    scan = Image.open(DATA / "scan_lease.png")
    buffer = io.BytesIO()
    scan.save(buffer, image_format)
    parsed = parse_bytes(buffer.getvalue(), "scan", ocr=OCR)  # no extension: by its magic
    assert parsed.format == "image" and parsed.ocr_pages == 1
    assert "monthly rent is 1,250" in words(parsed.units[0].page_content)


def test_an_animated_gif_is_read_once_not_frame_by_frame():
    scan = Image.open(DATA / "scan_lease.png").convert("L")
    buffer = io.BytesIO()
    scan.save(buffer, "GIF", save_all=True, append_images=[scan.rotate(1), scan.rotate(2)])
    assert Image.open(io.BytesIO(buffer.getvalue())).n_frames == 3
    parsed = parse_bytes(buffer.getvalue(), "lease.gif", ocr=OCR)
    assert parsed.ocr_pages == 1 and len(parsed.units) == 1


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
        "parsing took longer than the limit of 0.3 s (OCR of page 1 was stopped; the first page "
        "read by OCR must fit in RAG_INGEST__MAX_SECONDS_PER_FILE, each page read then adds "
        "RAG_INGEST__OCR_SECONDS_PER_PAGE: a page this slow needs a higher "
        "RAG_INGEST__MAX_SECONDS_PER_FILE)")
    assert time.monotonic() - started < 2.0


@pytest.fixture
def slow_tesseract(paced_tesseract) -> Path:
    """A ``tesseract`` on PATH that knows English and then hangs, writing its pid to a file."""
    return paced_tesseract(["hang"])


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


# -- pages read by OCR earn their file time ----------------------------------------------------
def scanned_pdf(pages: int) -> bytes:
    """A PDF of ``pages`` copies of the fax scan: every page goes to Tesseract."""
    source = pdfium.PdfDocument(DATA / "scan_fax_g4.pdf")
    document = pdfium.PdfDocument.new()
    for _ in range(pages):
        document.import_pages(source)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def paced_tesseract(tmp_path, monkeypatch):
    """Put on PATH a ``tesseract`` whose n-th page takes the n-th of the ``delays`` given (the
    last one for the pages after) and reads "Invoice page read slowly", or hangs for a delay
    "hang"; it writes its pid to the file returned. With ``orphan``, a hanging page also
    leaves a child holding Tesseract's output open, so the worker waits on it past its own
    deadline and only the app's kill stops it."""

    def install(delays: list[float | str], orphan: bool = False) -> Path:
        pids = tmp_path / "pids"
        table = tmp_path / "delays"
        table.write_text("".join(f"{d}\n" for d in delays))
        script = tmp_path / "bin" / "tesseract"
        script.parent.mkdir()
        script.write_text(
            "#!/bin/sh\n"
            'if [ "$1" = --list-langs ]; then echo "List of available languages (1):"; '
            "echo eng; exit 0; fi\n"
            f"echo $$ >> {pids}\n"
            f"n=$(wc -l < {pids}); d=$(sed -n \"${{n}}p\" {table}); "
            f"[ -n \"$d\" ] || d=$(tail -n 1 {table})\n"
            "cat > /dev/null\n"
            'if [ "$d" = hang ]; then '
            + (f"sleep 120 & echo $! >> {pids}.orphans; " if orphan else "")
            + "exec sleep 60; fi\n"
            "sleep $d\n"
            "echo 'Invoice page read slowly'\n"
        )
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
        return pids

    return install


def _running(pid: int) -> bool:
    """Whether the process exists and is not a zombie (a killed orphan waits for init to reap
    it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _all_gone(*files: Path) -> None:
    pids = [int(pid) for file in files if file.exists() for pid in file.read_text().split()]
    assert pids
    until = time.monotonic() + 2.0
    while any(map(_running, pids)) and time.monotonic() < until:
        time.sleep(0.05)
    assert [pid for pid in pids if _running(pid)] == []


def test_a_scan_longer_than_the_file_limit_is_read_as_its_pages_earn_time(paced_tesseract):
    pids = paced_tesseract([1.0])
    limits = ParseLimits(max_seconds=2.0, ocr_seconds_per_page=3.0)
    pool = ParserPool(1)  # started now: its worker sees the paced tesseract first on PATH
    try:
        pool.parse(b"warm up", "warm.txt")  # the worker's start-up is not the scan's time
        started = time.monotonic()
        pages = []
        parsed = pool.parse(scanned_pdf(4), "contract.pdf", limits, OCR, pages.append)
        elapsed = time.monotonic() - started
    finally:
        pool.close()
    # Longer than the file limit and the kill grace: the app moved its kill time on too.
    assert elapsed > limits.max_seconds + KILL_GRACE_S
    assert parsed.ocr_pages == 4 and [p.page for p in pages] == [1, 2, 3, 4]
    assert all(p.read for p in pages)
    assert all("invoice page read slowly" in words(u.page_content) for u in parsed.units)
    assert len(pids.read_text().split()) == 4


def _fail_in_pool(pdf: bytes) -> tuple[pytest.ExceptionInfo[IngestError], float]:
    """Parse ``pdf`` in a real worker (2 s per file, 2 s earned per OCR page), expecting it to
    fail: the error and the seconds it took, the worker's start-up not counted."""
    limits = ParseLimits(max_seconds=2.0, ocr_seconds_per_page=2.0)
    pool = ParserPool(1)
    try:
        pool.parse(b"warm up", "warm.txt")
        started = time.monotonic()
        with pytest.raises(IngestError) as caught:
            pool.parse(pdf, "contract.pdf", limits, OCR)
        return caught, time.monotonic() - started
    finally:
        pool.close()


def test_a_page_slower_than_its_allowance_fails_and_leaves_no_tesseract(paced_tesseract):
    pids = paced_tesseract([1.0, 1.0, "hang"])  # the third page hangs
    caught, elapsed = _fail_in_pool(scanned_pdf(4))
    assert caught.value.reason == (
        "parsing took longer than the limit of 6 s (2 s + 2 s a page for 2 pages read by OCR) "
        "(OCR of page 3 was stopped; each page read by OCR adds "
        "RAG_INGEST__OCR_SECONDS_PER_PAGE (2 s) to the limit: pages this slow need a higher one)")
    assert 4.0 < elapsed < 6.0 + KILL_GRACE_S + 2.0  # 2 pages earned 4 s; then stopped
    _all_gone(pids)


def test_the_app_kills_a_worker_stuck_past_the_time_its_pages_earned(paced_tesseract):
    # Tesseract leaves a child holding its output open, so the worker, having stopped it at
    # its own deadline, waits on that child: only the app's kill, moved on by the pages read,
    # stops it, with all that the worker started.
    pids = paced_tesseract([0.5, "hang"], orphan=True)
    caught, elapsed = _fail_in_pool(scanned_pdf(3))
    assert caught.value.reason == (
        "parsing took longer than the limit of 4 s (2 s + 2 s a page for 1 page read by OCR); "
        "the parser process was stopped (each page read by OCR adds "
        "RAG_INGEST__OCR_SECONDS_PER_PAGE (2 s) to the limit: pages this slow need a higher one)")
    assert 4.0 + KILL_GRACE_S <= elapsed < 4.0 + KILL_GRACE_S + 2.0
    _all_gone(pids, Path(f"{pids}.orphans"))


def test_the_time_pages_earn_is_capped(paced_tesseract):
    paced_tesseract([0.5])
    limits = ParseLimits(max_seconds=1.5, ocr_seconds_per_page=10.0, max_ocr_seconds=3.0)
    # The cap holds however many pages are reported (the app counts what the worker sends).
    assert limits.seconds_allowed(0) == 1.5 and limits.seconds_allowed(1) == 3.0
    assert limits.seconds_allowed(10**9) == 3.0
    assert ParseLimits(max_seconds=5.0, max_ocr_seconds=3.0).seconds_allowed(7) == 5.0
    started = time.monotonic()
    with pytest.raises(IngestError) as caught:
        parse_bytes(scanned_pdf(12), "long.pdf", limits, OCR)  # ~0.6 s a page: 7 s in all
    reason = caught.value.reason
    # Which page is stopped depends on the machine's speed; the limit and the hint do not.
    assert reason.startswith("parsing took longer than the limit of 3 s (1.5 s + 10 s a page "
                             "for ")
    assert "read by OCR, at most 3 s) (" in reason
    assert reason.endswith("; RAG_INGEST__MAX_OCR_SECONDS_PER_FILE caps a file's time however "
                           "many pages OCR reads: a scan this long needs a higher one)")
    assert 3.0 <= time.monotonic() - started < 3.0 + 1.0
