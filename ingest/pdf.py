"""PDF: one unit per page with text, via pypdfium2 (PDFium, the engine in Chrome).

Why not pypdf for text: measured on a real manual here, pypdf ran words together on 11% of the
words and was 16x slower than PDFium. pypdf is only used by the tests to write encrypted files.
A page's lines are joined into paragraphs by ``ingest.pdf_text``; the section a page falls
under comes from the PDF's outline (bookmarks), else from its running head. Running heads and
feet (page numbers, the manual's name on every page) are found by ``ingest.pdf_margins``.
"""

from __future__ import annotations

import pypdfium2 as pdfium

from ingest.errors import IngestError
from ingest.limits import Deadline, ParseLimits, check_size
from ingest.ocr import OcrRun
from ingest.parsed import ParsedFile, display_stem, make_unit, tidy_text
from ingest.pdf_margins import read_margins
from ingest.pdf_ocr import ocr_pages, pages_without_text
from ingest.pdf_text import page_text
from ingest.records import RUNNING_KEY

_PASSWORD_ERROR = 4  # FPDF_ERR_PASSWORD
_SECTION_SEPARATOR = " > "
# A section path is put in a header line on every chunk, so it is kept short; when it is too
# long the outer levels go first, since the deepest heading says most about the page.
_SECTION_MAX_CHARS = 120


def _open_document(data: bytes, name: str) -> pdfium.PdfDocument:
    if not data.lstrip()[:5] == b"%PDF-":
        raise IngestError(name, "not a readable PDF (corrupt or truncated): no %PDF- header")
    try:
        # password=None makes PDFium try the empty user password, which is how most
        # "encrypted" PDFs (print/copy restrictions only) are meant to be opened.
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == _PASSWORD_ERROR:
            raise IngestError(name, "encrypted PDF: a password is required") from exc
        raise IngestError(name, f"not a readable PDF (corrupt or truncated): {exc}") from exc


def _page_text(document: pdfium.PdfDocument, index: int, name: str) -> str:
    try:
        page = document[index]
    except pdfium.PdfiumError as exc:
        raise IngestError(
            name, f"not a readable PDF (corrupt or truncated): page {index + 1}: {exc}"
        ) from exc
    try:
        text_page = page.get_textpage()
        try:
            text = page_text(text_page)
        finally:
            text_page.close()
    finally:
        page.close()
    return tidy_text(text)


def _outline_sections(
    document: pdfium.PdfDocument, page_count: int, deadline: Deadline
) -> list[str | None]:
    """Per page, the outline path of the last outline entry starting on or before it."""
    starts = []
    path: list[str] = []
    for order, bookmark in enumerate(document.get_toc()):
        deadline.check()  # an outline can be as large as the file allows
        del path[bookmark.level :]
        path.append(" ".join(bookmark.get_title().split()))
        destination = bookmark.get_dest()
        page_index = destination.get_index() if destination else None
        if page_index is not None and page_index < page_count:
            starts.append((page_index, order, _section_path(path)))
    starts.sort()
    sections: list[str | None] = []
    current = None
    position = 0
    for page_index in range(page_count):
        while position < len(starts) and starts[position][0] <= page_index:
            current = starts[position][2] or current
            position += 1
        sections.append(current)
    return sections


def _section_path(path: list[str]) -> str:
    titles = [title for title in path if title]
    while len(titles) > 1 and len(_SECTION_SEPARATOR.join(titles)) > _SECTION_MAX_CHARS:
        del titles[0]
    text = _SECTION_SEPARATOR.join(titles)
    return text if len(text) <= _SECTION_MAX_CHARS else text[: _SECTION_MAX_CHARS - 1] + "…"


def _title(document: pdfium.PdfDocument, name: str) -> str:
    try:
        title = document.get_metadata_value("Title").strip()
    except (pdfium.PdfiumError, KeyError, ValueError):
        title = ""
    return title or display_stem(name)


def parse_pdf(data: bytes, name: str, limits: ParseLimits, ocr: OcrRun | None = None
              ) -> ParsedFile:
    """Units: one per page that has text; metadata ``page`` (1-based), locator ``"page N"``.

    With an outline, metadata ``section`` too: the heading path the page falls under
    ("Chapter > Section"); a page before the first outline entry, or in a PDF without one,
    has its running head for section ("Chapter 4: Shell Builtin Commands"), when it has one.
    Pages without a usable text layer are read by OCR when ``ocr`` is given (and Tesseract
    is there), their units marked ``ocr: True``; otherwise a warning counts them, and a file
    with no text at all fails saying how to turn OCR on.
    """
    check_size(len(data), name, limits)
    deadline = Deadline(name, limits)
    document = _open_document(data, name)
    try:
        page_count = len(document)
        if page_count == 0:
            raise IngestError(name, "not a readable PDF (corrupt or truncated): no pages")
        sections = _outline_sections(document, page_count, deadline)
        texts = []
        for index in range(page_count):
            deadline.check()
            texts.append(_page_text(document, index, name))
        scanned = pages_without_text(document, texts)
        why_not = "OCR is off" if ocr is None else ocr.unavailable()
        read = {} if why_not else ocr_pages(document, scanned, name, ocr, deadline)
        # Running lines of the text layer only: OCR reads a scan's head differently from page
        # to page, and the first lines of a scanned page are most often its own title.
        margins = read_margins(texts)
        units = []
        for index, (text, section) in enumerate(zip(texts, sections, strict=True)):
            # Without an outline entry, the page's running head names its chapter.
            section = section or _section_path([margins.heads[index]])
            extra: dict[str, str | bool] = {"section": section} if section else {}
            if margins.running[index]:
                extra[RUNNING_KEY] = "\n".join(margins.running[index])
            if read.get(index):
                text, extra["ocr"] = tidy_text(read[index]), True
            if text:
                units.append(make_unit(text, f"page {index + 1}", page=index + 1, **extra))
        title = _title(document, name)
    finally:
        document.close()
    if not units:
        raise IngestError(name, _no_text_reason(why_not, bool(scanned)))
    warnings: tuple[str, ...] = ()
    if why_not and scanned:
        warnings = (f"{len(scanned)} page(s) without a text layer not read: "
                    f"{_how_to_read(why_not)}",)
    return ParsedFile(format="pdf", title=title, units=units, warnings=warnings,
                      ocr_pages=ocr.pages if ocr else 0)


def _how_to_read(why_not: str) -> str:
    if why_not == "OCR is off":
        return "OCR is off (RAG_INGEST__OCR=true turns it on)"
    return why_not


def _no_text_reason(why_not: str, scanned: bool) -> str:
    if not scanned:
        return "no text layer and nothing drawn on its pages (an empty PDF)"
    if why_not:
        return f"no text layer (image-only/scanned PDF); {_how_to_read(why_not)}"
    return "no text layer (image-only/scanned PDF) and OCR found no text on its pages"
