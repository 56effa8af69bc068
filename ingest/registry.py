"""Which parser reads a file: by extension, corrected by sniffing the content's magic.

A file whose extension we do not know (or that has none: README, changelog, .page, .conf,
.pom, .nxml, a manual page's .1...) is read by what its content is: PDF, HTML (XHTML too), XML,
JSON or JSON Lines that parse, a troff manual page, else plain text when the bytes read as
text. Only binary data is refused, with
:class:`NotADocumentError`, so a folder ingest can list it as skipped.
"""

from __future__ import annotations

import json
import re

from ingest.csv_ import parse_csv
from ingest.errors import NotADocumentError
from ingest.html import parse_html
from ingest.image import parse_image
from ingest.json_ import parse_json, parse_jsonl
from ingest.manpage import looks_like_manpage, parse_manpage
from ingest.parsed import Parser
from ingest.pdf import parse_pdf
from ingest.text import parse_markdown, parse_text
from ingest.textcodec import bom_encoding, looks_like_text
from ingest.xml import parse_xml

PARSERS: dict[str, Parser] = {
    "pdf": parse_pdf,
    "html": parse_html,
    "json": parse_json,
    "jsonl": parse_jsonl,
    "xml": parse_xml,
    "text": parse_text,
    "markdown": parse_markdown,
    "image": parse_image,
    "manpage": parse_manpage,
    "csv": parse_csv,
}
# Parsers that read text by OCR where a file has none: parse_bytes passes them the file's
# OCR run (None when OCR is off) as a fourth argument.
READ_WITH_OCR = {"pdf": parse_pdf, "image": parse_image}
EXTENSIONS: dict[str, str] = {
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xml": "xml",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".tif": "image",
    ".tiff": "image",
    ".gif": "image",
    ".webp": "image",
    ".bmp": "image",
}
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(EXTENSIONS)

_SNIFF_BYTES = 2048
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"GIF87a", b"GIF89a")
# The prolog (blanks, comments, an XML declaration) is matched possessively ("*+"): a comment
# ends at its first "-->", and with a plain "*" a failed match retried every way of letting a
# comment run on to a later "-->", exponential in the number of comments (a 2 KB head of
# "<!---->" never finished).
_HTML_START = re.compile(r"^(?:\s|<!--.*?-->|<\?xml[^>]*\?>)*+<(?:!doctype\s+html|html[\s>])",
                         re.S | re.I)
_XML_ROOT = re.compile(r"^(?:\s|<!--.*?-->)*+<(?:!doctype\s|[A-Za-z_][\w.:-]*[\s/>])",
                       re.S | re.I)
# A root element named html (any prefix) that binds the XHTML namespace: HTML written as XML.
_XHTML_ROOT = re.compile(
    r"<(?:[\w.-]+:)?html\b[^>]*\bxmlns(?::[\w.-]+)?\s*=\s*[\"']http://www\.w3\.org/1999/xhtml[\"']"
)
# A head cut inside JSON fails to parse near its end; a real syntax error fails earlier.
_JSON_CUT_MARGIN = 32


def extension_of(name: str) -> str:
    """Lower-case extension of a display name ("" if none); never touches the filesystem."""
    last = re.split(r"[/\\]", name)[-1]
    stem, dot, extension = last.rpartition(".")
    return f".{extension.lower()}" if dot and stem else ""


def _head_text(head: bytes) -> str:
    encoding, skip = bom_encoding(head)
    return head[skip:_SNIFF_BYTES].decode(encoding or "utf-8", errors="replace")


def _is_image(head: bytes) -> bool:
    """PNG, JPEG, TIFF, GIF by their magic; WebP by its RIFF container's form type; BMP by
    "BM" and the header's reserved zero bytes (text may start with "BM", never with NULs)."""
    return (head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
            or (head[:2] == b"BM" and head[6:10] == b"\0\0\0\0"))


def sniff_format(head: bytes) -> str | None:
    """The format the first bytes announce unambiguously, else None.

    PDF by its magic, HTML by a doctype or <html> root, XML by its declaration or a root tag,
    JSON by a first non-space "{" or "[". Plain text and Markdown have no magic.
    """
    if head.lstrip()[:5] == b"%PDF-":
        return "pdf"
    if _is_image(head):
        return "image"
    text = _head_text(head)
    if _HTML_START.match(text):
        return "html"
    if text.lstrip().startswith("<?xml") or _XML_ROOT.match(text):
        return "xml"
    if text.lstrip()[:1] in ("{", "["):
        return "json"
    return None


def detect_format(name: str, head: bytes) -> str:
    """Format key for a file, from its display name and its first bytes.

    Strong magic wins over a lying extension: PDF bytes named ".json" are read as PDF, an HTML
    page named ".txt" as HTML, an XML declaration in a ".json" file as XML. JSON's weak magic
    ("{" or "[") only wins over the markup extensions, where it cannot be valid content;
    a ".txt" or ".md" that starts with a bracket stays text. An unknown or missing extension
    is decided by the content alone (:func:`format_by_content`).
    """
    by_extension = EXTENSIONS.get(extension_of(name))
    sniffed = sniff_format(head)
    if by_extension is None:
        return format_by_content(name, head, sniffed)
    if sniffed in ("pdf", "image") or (sniffed == "html" and by_extension != "xml"):
        return sniffed  # XHTML named .xml is still read as XML
    if sniffed == "xml" and by_extension not in ("html", "xml", "text", "markdown"):
        return sniffed
    if sniffed == "json" and by_extension in ("html", "xml"):
        return "json"
    return by_extension


def format_by_content(name: str, head: bytes, sniffed: str | None = None) -> str:
    """The format of a file whose name says nothing we know; binary data is refused.

    ``head`` is the file's first bytes (all of them when shorter than the sniff window).
    """
    sniffed = sniffed or sniff_format(head)
    if sniffed in ("pdf", "html", "image"):
        return sniffed
    if sniffed == "xml":
        return "html" if _XHTML_ROOT.search(_head_text(head)) else "xml"
    complete = len(head) < _SNIFF_BYTES
    if sniffed == "json":
        json_format = _json_kind(_head_text(head), complete)
        if json_format:
            return json_format
    if looks_like_text(head[:_SNIFF_BYTES]):
        # A manual page ("ls.1", "chage.1.gz") is troff: read as text it is mostly markup.
        return "manpage" if looks_like_manpage(_head_text(head)) else "text"
    supported = ", ".join(sorted(SUPPORTED_EXTENSIONS))
    shown = extension_of(name) or "(no extension)"
    raise NotADocumentError(
        name,
        f"unsupported file type {shown}; supported: {supported}, or any name whose content "
        "is PDF, an image (PNG, JPEG, TIFF, GIF, WebP, BMP), HTML, XML, JSON, a manual page "
        "or text "
        "(compressed with gzip, bzip2 or xz too); this is binary data (not a supported "
        "document format)",
    )


def _json_kind(text: str, complete: bool) -> str | None:
    """"json" or "jsonl" if the text parses as such (up to a cut at its end), else None.

    A bracket alone is weak magic: "[2024-01-02] release notes" starts like JSON too.
    """
    try:
        json.loads(text)
        return "json"
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            return "jsonl" if _is_json_lines(text, complete) else None
        cut_short = exc.pos >= len(text.rstrip()) - _JSON_CUT_MARGIN
        if not complete and (cut_short or exc.msg.startswith("Unterminated string")):
            return "json"
    return None


def _is_json_lines(text: str, complete: bool) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    if not complete:
        lines = lines[:-1]  # the cut may have split the last line
    try:
        return len(lines) > 1 and all(isinstance(json.loads(line), dict | list) for line in lines)
    except json.JSONDecodeError:
        return False


def describe_content(head: bytes) -> str:
    """A plain-words guess of what the bytes are, for "content does not match" errors."""
    sniffed = sniff_format(head)
    if sniffed:
        return {"pdf": "PDF", "html": "HTML", "xml": "XML", "json": "JSON",
                "image": "an image"}[sniffed]
    if bom_encoding(head)[0] is None and b"\0" in head:
        return "binary data"
    return "plain text"
