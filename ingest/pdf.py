"""PDF: one unit per page with text, via pypdfium2 (PDFium, the engine in Chrome).

Why not pypdf for text: measured on a real manual here, pypdf ran words together on 11% of the
words and was 16x slower than PDFium. pypdf is only used by the tests to write encrypted files.
A page's lines are joined into paragraphs by ``ingest.pdf_text``.
"""

from __future__ import annotations

import pypdfium2 as pdfium

from ingest.errors import IngestError
from ingest.limits import Deadline, ParseLimits, check_size
from ingest.parsed import ParsedFile, display_stem, make_unit, tidy_text
from ingest.pdf_text import page_text

_PASSWORD_ERROR = 4  # FPDF_ERR_PASSWORD


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


def _title(document: pdfium.PdfDocument, name: str) -> str:
    try:
        title = document.get_metadata_value("Title").strip()
    except (pdfium.PdfiumError, KeyError, ValueError):
        title = ""
    return title or display_stem(name)


def parse_pdf(data: bytes, name: str, limits: ParseLimits) -> ParsedFile:
    """Units: one per page that has text; metadata ``page`` (1-based), locator ``"page N"``."""
    check_size(len(data), name, limits)
    deadline = Deadline(name, limits)
    document = _open_document(data, name)
    try:
        page_count = len(document)
        if page_count == 0:
            raise IngestError(name, "not a readable PDF (corrupt or truncated): no pages")
        units = []
        for index in range(page_count):
            deadline.check()
            text = _page_text(document, index, name)
            if text:
                units.append(make_unit(text, f"page {index + 1}", page=index + 1))
        title = _title(document, name)
    finally:
        document.close()
    if not units:
        raise IngestError(name, "no text layer (image-only/scanned PDF); run OCR first")
    return ParsedFile(format="pdf", title=title, units=units)
