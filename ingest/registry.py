"""Which parser reads a file: by extension, corrected by sniffing the content's magic."""

from __future__ import annotations

import re

from ingest.errors import IngestError
from ingest.html import parse_html
from ingest.json_ import parse_json, parse_jsonl
from ingest.parsed import Parser
from ingest.pdf import parse_pdf
from ingest.text import parse_markdown, parse_text
from ingest.textcodec import bom_encoding
from ingest.xml import parse_xml

PARSERS: dict[str, Parser] = {
    "pdf": parse_pdf,
    "html": parse_html,
    "json": parse_json,
    "jsonl": parse_jsonl,
    "xml": parse_xml,
    "text": parse_text,
    "markdown": parse_markdown,
}
EXTENSIONS: dict[str, str] = {
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xml": "xml",
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
}
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(EXTENSIONS)

_SNIFF_BYTES = 2048
_MARKUP_START = re.compile(r"^(?:\s|<!--.*?-->|<\?xml[^>]*\?>)*<", re.S)
_HTML_START = re.compile(r"^(?:\s|<!--.*?-->|<\?xml[^>]*\?>)*<(?:!doctype\s+html|html[\s>])",
                         re.S | re.I)
_XML_ROOT = re.compile(r"^(?:\s|<!--.*?-->)*<(?:!doctype\s|[A-Za-z_][\w.:-]*[\s/>])", re.S | re.I)


def extension_of(name: str) -> str:
    """Lower-case extension of a display name ("" if none); never touches the filesystem."""
    last = re.split(r"[/\\]", name)[-1]
    stem, dot, extension = last.rpartition(".")
    return f".{extension.lower()}" if dot and stem else ""


def _head_text(head: bytes) -> str:
    encoding, skip = bom_encoding(head)
    return head[skip:_SNIFF_BYTES].decode(encoding or "utf-8", errors="replace")


def sniff_format(head: bytes) -> str | None:
    """The format the first bytes announce unambiguously, else None.

    PDF by its magic, HTML by a doctype or <html> root, XML by its declaration or a root tag,
    JSON by a first non-space "{" or "[". Plain text and Markdown have no magic.
    """
    if head.lstrip()[:5] == b"%PDF-":
        return "pdf"
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
    a ".txt" or ".md" that starts with a bracket stays text.
    """
    by_extension = EXTENSIONS.get(extension_of(name))
    sniffed = sniff_format(head)
    if sniffed == "pdf" or (sniffed == "html" and by_extension != "xml"):
        return sniffed  # XHTML named .xml is still read as XML
    if sniffed == "xml" and by_extension not in ("html", "xml", "text", "markdown"):
        return sniffed
    if sniffed == "json" and by_extension in ("html", "xml"):
        return "json"
    if by_extension:
        return by_extension
    supported = ", ".join(sorted(SUPPORTED_EXTENSIONS))
    shown = extension_of(name) or "(no extension)"
    raise IngestError(name, f"unsupported file type {shown}; supported: {supported}")


def describe_content(head: bytes) -> str:
    """A plain-words guess of what the bytes are, for "content does not match" errors."""
    sniffed = sniff_format(head)
    if sniffed:
        return {"pdf": "PDF", "html": "HTML", "xml": "XML", "json": "JSON"}[sniffed]
    if bom_encoding(head)[0] is None and b"\0" in head:
        return "binary data"
    return "plain text"
