"""Which PDF pages need OCR, and their text read from the rendered page.

A page is read by OCR only when its text layer is not usable (fewer than
``USABLE_TEXT_CHARS`` letters and digits: a scan, a page whose text is drawn as paths, a
scan with only a page number as text) and something is drawn on it (images, paths). A page
with a real text layer keeps it, images or not. The page is rendered by PDFium as it is
displayed (its /Rotate applied), so CCITT fax and JBIG2 scans, which PDFium decodes, read
like any other image.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ingest.limits import Deadline
from ingest.ocr import (
    MAX_OCR_PIXELS,
    OcrPage,
    OcrRun,
    is_blank,
    ocr_image,
    out_of_time,
    timed,
)

if TYPE_CHECKING:
    from PIL import Image

# Letters and digits a page's text layer needs to be used as it is.
USABLE_TEXT_CHARS = 20
_DRAWN = (pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_SHADING)


def has_usable_text(text: str) -> bool:
    return sum(char.isalnum() for char in text) >= USABLE_TEXT_CHARS


def pages_without_text(document: pdfium.PdfDocument, texts: list[str]) -> list[int]:
    """Indexes of the pages whose text layer is not usable and on which something is drawn."""
    found = []
    for index, text in enumerate(texts):
        if has_usable_text(text):
            continue
        page = document[index]
        try:
            drawn = next(iter(page.get_objects(filter=_DRAWN)), None) is not None
        finally:
            page.close()
        if drawn:
            found.append(index)
    return found


def ocr_pages(document: pdfium.PdfDocument, indexes: list[int], name: str, run: OcrRun,
              deadline: Deadline) -> dict[int, str]:
    """The OCR text of each page in ``indexes`` ("" for a page that renders blank)."""
    texts: dict[int, str] = {}
    for done, index in enumerate(indexes, start=1):
        if not deadline.remaining():
            raise out_of_time(name, deadline, f"{done - 1} of {len(indexes)} pages without "
                                              "text read by OCR")
        elapsed = timed()
        page = document[index]
        try:
            image, dpi = render_page(page, run.options.dpi)
        finally:
            page.close()
        blank = is_blank(image)
        what = f"page {index + 1}"
        texts[index] = "" if blank else ocr_image(image, run.options, deadline, name, what, dpi)
        run.report(OcrPage(name, index + 1, done, len(indexes), elapsed(), read=not blank),
                   deadline)
    return texts


def render_page(page: pdfium.PdfPage, dpi: int) -> tuple[Image.Image, int]:
    """The page as a grayscale image at ``dpi``, or lower for a page too large to read whole
    (a poster), and the resolution used."""
    width, height = page.get_size()  # points, with /Rotate applied
    scale = dpi / 72
    if width * height * scale * scale > MAX_OCR_PIXELS:
        # A hair under: PDFium rounds the bitmap's sides up.
        scale = 0.999 * (MAX_OCR_PIXELS / (width * height)) ** 0.5
    # Not closed here: the image reads the bitmap's buffer, which lives as long as it does.
    return page.render(scale=scale, grayscale=True).to_pil(), round(scale * 72)
