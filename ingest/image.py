"""Images (PNG, JPEG, TIFF, GIF, WebP, BMP): their text read by OCR, one unit per page (a TIFF
holds pages; the other frames of an animated GIF or WebP are animation, so only the first is
read).

Without OCR an image has no text we can read: it is then reported as skipped, not a
document, as images were before OCR, with how to turn OCR on. A phone photo's EXIF
orientation is applied before reading; Tesseract's orientation detection turns the rest.
"""

from __future__ import annotations

import io
import itertools

from ingest.errors import IngestError, NotADocumentError
from ingest.limits import Deadline, ParseLimits, check_size, units_over_limit
from ingest.ocr import OcrPage, OcrRun, is_blank, ocr_image, timed
from ingest.parsed import ParsedFile, display_stem, make_unit, tidy_text

# Larger images are refused before they are decoded (Pillow's own bomb guard is at 179 M
# pixels, and the decoded frame must fit in the worker's memory cap with Tesseract's copy).
MAX_IMAGE_PIXELS = 120_000_000
# Below this many pixels of height an image holds no line of text worth a Tesseract call
# (icons, bullets, spacers in a documentation folder).
MIN_TEXT_HEIGHT = 24
# Resolutions outside this range are a file's default, not a scanner's: Tesseract guesses.
_PLAUSIBLE_DPI = (70, 1200)


def parse_image(data: bytes, name: str, limits: ParseLimits, ocr: OcrRun | None = None
                ) -> ParsedFile:
    """Units: one per frame with text; locator ``"page N"``, metadata ``page``, ``ocr``."""
    from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

    check_size(len(data), name, limits)
    why_not = "OCR is off (RAG_INGEST__OCR=true reads the text of images)" if ocr is None \
        else ocr.unavailable()
    if why_not:
        raise NotADocumentError(name, f"an image: its text is read only by OCR; {why_not}")
    assert ocr is not None
    deadline = Deadline(name, limits)
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise IngestError(name, f"the image is {image.width}x{image.height} pixels, more "
                                    f"than the {MAX_IMAGE_PIXELS // 1_000_000} M pixels OCR reads")
        frames = getattr(image, "n_frames", 1) if image.format == "TIFF" else 1
        if frames > limits.max_units:
            raise units_over_limit(name, limits)
        dpi = _resolution(image.info.get("dpi"))
        units = []
        pages = itertools.islice(ImageSequence.Iterator(image), frames)
        for number, frame in enumerate(pages, start=1):
            deadline.check()
            elapsed = timed()
            page = ImageOps.exif_transpose(frame) if frames == 1 else frame.copy()
            readable = page.height >= MIN_TEXT_HEIGHT and not is_blank(page)
            text = ocr_image(page, ocr.options, deadline, name, f"page {number}", dpi) \
                if readable else ""
            ocr.report(OcrPage(name, number, number, frames, elapsed(), read=readable),
                       deadline)
            text = tidy_text(text)
            if text:
                units.append(make_unit(text, f"page {number}", page=number, ocr=True))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, EOFError,
            ValueError) as exc:
        raise IngestError(name, f"not a readable image (corrupt or truncated): {exc}") from exc
    if not units:
        raise NotADocumentError(name, "an image in which OCR found no text")
    return ParsedFile(format="image", title=display_stem(name), units=units,
                      ocr_pages=ocr.pages)


def _resolution(dpi: object) -> int | None:
    try:
        value = round(float(dpi[0]))  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        return None
    low, high = _PLAUSIBLE_DPI
    return value if low <= value <= high else None
