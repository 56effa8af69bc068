"""Ingestion: bytes of a document in, structural units and token-sized chunks out.

Public API: :func:`parse_file`, :func:`parse_bytes`, :func:`chunk_units`, :func:`detect_format`,
:class:`ParsedFile`, :class:`ParseLimits`, :class:`IngestError`, ``SUPPORTED_EXTENSIONS``.
Every bad input raises :class:`IngestError` naming the file and the reason.

The parser libraries (pdfium, lxml, the text splitter) are imported on first use, not here:
``rag`` imports ``ingest.errors`` everywhere and should not pay ~1 s for them.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.errors import IngestError, NotADocumentError, NotWellFormedError
from ingest.limits import ParseLimits, check_output, check_size

if TYPE_CHECKING:
    from ingest.chunking import chunk_units
    from ingest.ocr import OcrOptions, OcrProgress
    from ingest.parsed import ParsedFile
    from ingest.registry import SUPPORTED_EXTENSIONS, detect_format

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "IngestError",
    "ParseLimits",
    "ParsedFile",
    "chunk_units",
    "detect_format",
    "parse_bytes",
    "parse_file",
]

_LAZY = {
    "chunk_units": "ingest.chunking",
    "ParsedFile": "ingest.parsed",
    "SUPPORTED_EXTENSIONS": "ingest.registry",
    "detect_format": "ingest.registry",
}
_SNIFF_BYTES = 2048
_DESCRIPTION_OF = {"pdf": "PDF", "html": "HTML", "xml": "XML", "json": "JSON", "jsonl": "JSON",
                   "image": "an image"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ingest' has no attribute {name!r}")


def parse_bytes(
    data: bytes,
    name: str,
    limits: ParseLimits | None = None,
    ocr: OcrOptions | None = None,
    progress: OcrProgress | None = None,
) -> ParsedFile:
    """Parse a file's content; ``name`` is only a display name (never opened as a path).

    ``ocr`` turns on OCR of PDF pages without a text layer and of images (None: off);
    ``progress`` then hears of each page OCR'd, as it takes seconds a page.

    Runs in the calling process with cooperative limits only; :mod:`ingest.isolation` runs it
    in a worker process with hard time and memory limits (what an ingest of untrusted files
    should use). The output caps (units, text and locators) are checked either way.
    """
    from ingest.compressed import decompress

    limits = limits or ParseLimits()
    check_size(len(data), name, limits)
    # A compressed document is its content: its format, the text ratio and the parsers' time
    # are those of the decompressed bytes, under the same size limit; errors name the file.
    format_name, compression = name, ""
    compressed = decompress(data, name, limits)
    if compressed is not None:
        data, format_name, compression = compressed
        check_size(len(data), name, limits)
    try:
        parsed = _parse_content(data, name, format_name, limits, ocr, progress)
    except NotADocumentError as exc:
        if not compression:
            raise
        raise NotADocumentError(name, f"its {compression} content: {exc.reason}") from exc
    # One place for every format: encoded binary data (an inline image) is no text.
    from ingest.encoded import without_encoded_data

    parsed = without_encoded_data(parsed)
    check_output(parsed, len(data), name, limits)
    return parsed


def _parse_content(data: bytes, name: str, format_name: str, limits: ParseLimits,
                   ocr: OcrOptions | None, progress: OcrProgress | None) -> ParsedFile:
    """The parser chosen for ``data`` (by ``format_name`` and the content) applied to it."""
    from ingest.ocr import OcrRun
    from ingest.registry import (
        PARSERS,
        READ_WITH_OCR,
        describe_content,
        detect_format,
        extension_of,
    )

    head = data[:_SNIFF_BYTES]
    file_format = detect_format(format_name, head)
    try:
        if file_format in READ_WITH_OCR:
            run = OcrRun(ocr, progress) if ocr is not None else None
            return READ_WITH_OCR[file_format](data, name, limits, run)
        return PARSERS[file_format](data, name, limits)
    except IngestError as exc:
        looks_like = describe_content(head)
        if file_format == "xml" and looks_like == "XML" and isinstance(exc, NotWellFormedError):
            return _as_html(data, name, limits, exc)
        expected = _DESCRIPTION_OF.get(file_format)
        # Only a structured format can disagree with content; binary data keeps its own error.
        if expected and looks_like not in (expected, "binary data"):
            raise IngestError(
                name,
                f"content does not match extension {extension_of(format_name) or '(none)'} "
                f"(looks like {looks_like})",
            ) from exc
        raise


def _as_html(data: bytes, name: str, limits: ParseLimits, xml_error: IngestError) -> ParsedFile:
    """Markup that even libxml2's recover mode cannot read as XML (SGML such as DocBook 4's
    ``<!doctype refentry ...>``, tag soup) read by the forgiving HTML parser: its text is
    kept, not its records. The XML error becomes the file's warning; when the HTML parser
    finds no text either, the XML error stands."""
    from dataclasses import replace

    from ingest.html import parse_html

    try:
        parsed = parse_html(data, name, limits)
    except IngestError:
        raise xml_error from None
    note = f"{xml_error.reason}; read as HTML instead (its text, not its XML records)"
    return replace(parsed, warnings=(note, *parsed.warnings))


def parse_file(path: Path, limits: ParseLimits | None = None, ocr: OcrOptions | None = None,
               progress: OcrProgress | None = None) -> ParsedFile:
    """Parse a file on disk; the size limit is checked before anything is read."""
    limits = limits or ParseLimits()
    path = Path(path)
    try:
        check_size(path.stat().st_size, path.name, limits)
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(path.name, f"cannot read file: {exc.strerror or exc}") from exc
    return parse_bytes(data, path.name, limits, ocr, progress)
