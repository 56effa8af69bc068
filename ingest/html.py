"""HTML: one unit per heading section, boilerplate dropped, tables as "Header: cell" rows.

The tree is built by lxml's HTML parser (libxml2), the same parser BeautifulSoup's "lxml"
backend drives, used directly: bs4's Python object tree costs ~10x the memory and time, which
matters for the 50 MB pages the size limit allows. The walk over the tree uses an explicit
stack, so deeply nested markup cannot exhaust the Python stack.
"""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

from ingest.errors import IngestError
from ingest.html_tables import table_text
from ingest.limits import Deadline, ParseLimits, check_size
from ingest.parsed import ParsedFile, display_stem, make_unit, tidy_text
from ingest.textcodec import decode_document

_DROPPED_TAGS = frozenset(
    "script style nav header footer aside noscript form template svg iframe button "
    "select textarea canvas object".split()
)
_BOILERPLATE_ROLES = frozenset({"navigation", "banner", "contentinfo", "search"})
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_PARAGRAPH_BLOCKS = frozenset(
    "p div section article main blockquote ul ol dl figure figcaption details summary "
    "address fieldset pre table".split()
)
_LINE_BLOCKS = frozenset("li dt dd tr br hr caption".split())
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def _is_boilerplate(element: etree._Element) -> bool:
    if element.tag in _DROPPED_TAGS:
        return True
    if (element.get("role") or "").lower() in _BOILERPLATE_ROLES:
        return True
    if element.get("hidden") is not None or element.get("aria-hidden") == "true":
        return True
    marker = f"{element.get('id', '')} {element.get('class', '')}".lower()
    return "cookie" in marker and _is_banner(element)


_BANNER_MAX_CHARS = 600


def _is_banner(element: etree._Element) -> bool:
    """A cookie notice is a short block without headings; a documentation section about
    cookies ("session-cookie-age") has a heading and is content, not chrome."""
    if any(isinstance(node.tag, str) and node.tag in _HEADINGS for node in element.iter()):
        return False
    return len(element.text_content()) <= _BANNER_MAX_CHARS


def _anchor(element: etree._Element) -> str:
    """Id of the heading, else of the nearest enclosing element that has one."""
    node: etree._Element | None = element
    while node is not None:
        if node.get("id"):
            return str(node.get("id"))
        node = node.getparent()
    return ""


def _inline(text: str | None) -> str:
    if not text:
        return ""
    # Keep one leading/trailing space: "a <b>b</b>" must not become "ab".
    core = " ".join(text.split())
    return f"{' ' if text[0].isspace() else ''}{core}{' ' if text[-1].isspace() and core else ''}"


class _SectionCollector:
    """Accumulates text under the current heading path and emits one unit per section."""

    def __init__(self) -> None:
        self.units: list = []
        self.path: list[tuple[int, str]] = []
        self.anchor = ""
        self.heading = ""
        self.parts: list[str] = []
        # The last empty link target met since the previous heading: documentation
        # generators put the id a heading is cited by on empty anchors just before it
        # (Sphinx's <span id="std-setting-X"></span>), inside the enclosing <div id="s-x">.
        self.recent_id = ""

    def write(self, text: str) -> None:
        if text:
            self.parts.append(text)

    def flush(self) -> None:
        body = tidy_text("".join(self.parts))
        self.parts = []
        if not body:
            return  # a heading directly followed by a sub-heading: nothing of its own
        section = " > ".join(title for _, title in self.path)
        locator = f"{section}#{self.anchor}" if self.anchor else section
        text = f"{self.heading}\n\n{body}" if self.heading else body
        self.units.append(make_unit(text, locator, section=section, anchor=self.anchor))

    def open_heading(self, level: int, title: str, anchor: str) -> None:
        self.flush()
        while self.path and self.path[-1][0] >= level:
            self.path.pop()
        self.path.append((level, title))
        self.heading, self.anchor = title, anchor
        self.recent_id = ""


def _walk(body: etree._Element, collector: _SectionCollector, deadline: Deadline) -> None:
    stack: list[tuple[etree._Element, bool]] = [(body, False)]
    visited = 0
    while stack:
        element, closing = stack.pop()
        tag = element.tag if isinstance(element.tag, str) else ""
        if closing:
            if tag in _PARAGRAPH_BLOCKS:
                collector.write("\n\n")
            elif tag in _LINE_BLOCKS:
                collector.write("\n")
            collector.write(_inline(element.tail))
            continue
        visited += 1
        if visited % 1000 == 0:
            deadline.check()
        if not tag or _is_boilerplate(element):  # comments, processing instructions, chrome
            collector.write(_inline(element.tail))
            continue
        if tag in _HEADINGS:
            title = _inline(element.text_content()).strip()
            if title:
                anchor = element.get("id") or collector.recent_id or _anchor(element)
                collector.open_heading(_HEADINGS[tag], title, str(anchor))
            collector.write(_inline(element.tail))
            continue
        if element.get("id") and len(element) == 0 and not (element.text or "").strip():
            collector.recent_id = str(element.get("id"))  # an empty link target
        if tag == "table":
            collector.write("\n\n" + table_text(element) + "\n\n" + _inline(element.tail))
            continue
        if tag == "pre":  # whitespace is meaningful in preformatted text and code
            collector.write("\n\n" + element.text_content() + "\n\n" + _inline(element.tail))
            continue
        if tag in _PARAGRAPH_BLOCKS:  # line blocks (li, tr, br) only end a line
            collector.write("\n\n")
        collector.write(_inline(element.text))
        stack.append((element, True))
        stack.extend((child, False) for child in reversed(element))


def _title(root: etree._Element, name: str) -> str:
    for path in ("//title", "//h1"):
        for node in root.xpath(path):
            text = _inline(node.text_content()).strip()
            if text:
                return text
    return display_stem(name)


def parse_html(data: bytes, name: str, limits: ParseLimits) -> ParsedFile:
    """Units: one per heading section; metadata ``section``, ``anchor``; locator "A > B#id"."""
    check_size(len(data), name, limits)
    deadline = Deadline(name, limits)
    declared = _META_CHARSET.search(data[:4096])
    decoded = decode_document(
        data, name, declared.group(1).decode("ascii") if declared else None
    )
    text = decoded.text
    # Re-encoded as UTF-8 with the encoding forced, so a <meta charset> cannot make lxml
    # decode a second time differently from what was decided above.
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, huge_tree=False)
    try:
        root = lxml.html.document_fromstring(text.encode("utf-8"), parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise IngestError(name, f"no text to index (empty HTML document): {exc}") from exc
    deadline.check()  # building the tree is the biggest single step
    collector = _SectionCollector()
    body = root.find("body")
    _walk(body if body is not None else root, collector, deadline)
    collector.flush()
    if not collector.units:
        raise IngestError(name, "no text to index (HTML has no visible text)")
    return ParsedFile(format="html", title=_title(root, name), units=collector.units,
                      warnings=decoded.warnings)
