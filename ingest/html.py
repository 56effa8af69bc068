"""HTML: one unit per heading section, boilerplate dropped, tables as "Header: cell" rows.

Two kinds of block are kept out of a section's prose, which they would otherwise drown: a
table with a header row becomes one record unit per row (``ingest.html_tables``), headed like
a JSON/XML record by its context (section and table caption) and its name (first cell), and
cited by the row's or the table's id; a list of links (a table of contents, "see also")
becomes a unit of its own, so a section's opening chunk starts with its text, not with the
titles of its subsections.

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
from ingest.html_tables import TableRow, table_caption, table_rows, table_text
from ingest.limits import Deadline, ParseLimits, check_size
from ingest.parsed import ParsedFile, display_stem, make_unit, tidy_text
from ingest.textcodec import decode_document

_DROPPED_TAGS = frozenset(
    "script style nav header footer aside noscript form template svg iframe button "
    "select textarea canvas object".split()
)
# "complementary" is the role of <aside>, dropped by its tag too: a page's sidebar.
_BOILERPLATE_ROLES = frozenset({"navigation", "banner", "contentinfo", "search",
                                "complementary"})
# Ids a page layout gives its sidebar column (Sphinx themes: <div id="sidebar"> around the
# site's table of contents and a "Last update" date). Ids, not classes: DocBook and docutils
# render a "sidebar" box of the text itself as class="sidebar".
_BOILERPLATE_IDS = frozenset({"sidebar"})
# Class names of page chrome that carries no role: DocBook's "Prev | Up | Home | Next" bars,
# breadcrumb trails.
_BOILERPLATE_CLASSES = frozenset({"navheader", "navfooter", "nav", "navbar", "breadcrumb",
                                  "breadcrumbs"})
# Boxes whose heading titles the box, not a section (DocBook: <div class="note"><h3>Note</h3>):
# as a section, "Note" would take over the rest of the enclosing section's text.
_ADMONITIONS = frozenset("note tip hint warning caution important danger attention "
                         "admonition".split())
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
    if (element.get("id") or "").lower() in _BOILERPLATE_IDS:
        return True
    if element.get("hidden") is not None or element.get("aria-hidden") == "true":
        return True
    if not _BOILERPLATE_CLASSES.isdisjoint((element.get("class") or "").lower().split()):
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


def _titles_a_box(heading: etree._Element) -> bool:
    parent = heading.getparent()
    classes = (parent.get("class") or "").lower().split() if parent is not None else []
    return not _ADMONITIONS.isdisjoint(classes)


_LISTS = frozenset({"ul", "ol", "dl"})
_LINK_LIST_MIN_LINKS = 2
_LINK_LIST_SHARE = 0.9  # of the list's letters and digits that are link text


def _letters(text: str) -> int:
    return sum(1 for c in text if c.isalnum())


def _is_link_list(element: etree._Element) -> bool:
    """A list that is (almost) only links: a table of contents, a "see also" list."""
    if element.tag not in _LISTS:
        return False
    links = element.xpath(".//a[@href]")
    if len(links) < _LINK_LIST_MIN_LINKS:
        return False
    total = _letters(element.text_content())
    return total > 0 and sum(_letters(a.text_content()) for a in links) >= (
        _LINK_LIST_SHARE * total)


_TABLE_WRAPPER_LEVELS = 2  # DocBook: <div class="table" id=…><div class="table-contents"><table>


def _table_anchor(table: etree._Element) -> str:
    """Id of the table or of a close wrapper of it (DocBook puts the table's id on
    <div class="table">); "" when the nearest id belongs to a section (a block with a heading
    of its own), whose anchor the section's units already carry."""
    node: etree._Element | None = table
    for _ in range(_TABLE_WRAPPER_LEVELS + 1):
        if node is None or any(isinstance(c.tag, str) and c.tag in _HEADINGS for c in node):
            return ""
        if node.get("id"):
            return str(node.get("id"))
        node = node.getparent()
    return ""


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
        self.in_link_list = False  # inner lists of a list of links stay in its unit

    def write(self, text: str) -> None:
        if text:
            self.parts.append(text)
            if not text.isspace():
                # A target followed by text marks that text, not the next heading (DocBook's
                # index anchors inside a parameter's term, many paragraphs before it).
                self.recent_id = ""

    @property
    def section(self) -> str:
        return " > ".join(title for _, title in self.path)

    def flush(self, *, headed: bool = True) -> None:
        """The text written so far as a unit, led by the section's heading unless
        ``headed`` is false (a list of links: the chunk header names the section anyway)."""
        body = tidy_text("".join(self.parts))
        self.parts = []
        if not body:
            return  # a heading directly followed by a sub-heading: nothing of its own
        section = self.section
        locator = f"{section}#{self.anchor}" if self.anchor else section
        text = f"{self.heading}\n\n{body}" if self.heading and headed else body
        self.units.append(make_unit(text, locator, section=section, anchor=self.anchor))

    def add_table(self, rows: list[TableRow], caption: str, table_id: str) -> None:
        """Each row a record unit in the context of the section and the table's caption,
        named by its first cell. Rows are not packed (no ``parent``): a chunk of ten rows
        embeds as a table, and a question about one row ranked it below prose."""
        self.flush()
        section = self.section
        context = " › ".join(p for p in (section, caption) if p)
        table_anchor = table_id or self.anchor
        for row in rows:
            anchor = str(row.element.get("id") or table_anchor)
            locator = f"{section}#{anchor}" if anchor else section
            self.units.append(make_unit(row.text, locator, section=section, anchor=anchor,
                                        context=context, record=row.name))

    def open_heading(self, level: int, title: str, anchor: str) -> None:
        self.flush()
        while self.path and self.path[-1][0] >= level:
            self.path.pop()
        self.path.append((level, title))
        self.heading, self.anchor = title, anchor
        self.recent_id = ""


_OPEN, _CLOSE, _CLOSE_UNIT = 0, 1, 2  # what popping an element from the walk's stack does


def _walk(body: etree._Element, collector: _SectionCollector, deadline: Deadline) -> None:
    stack: list[tuple[etree._Element, int]] = [(body, _OPEN)]
    visited = 0
    while stack:
        element, step = stack.pop()
        tag = element.tag if isinstance(element.tag, str) else ""
        if step != _OPEN:
            if step == _CLOSE_UNIT:
                collector.flush(headed=False)  # the list of links ends its own unit
                collector.in_link_list = False
            elif tag in _PARAGRAPH_BLOCKS:
                collector.write("\n\n")
            elif tag in _LINE_BLOCKS:
                collector.write("\n")
            collector.write(_inline(element.tail))
            continue
        visited += 1
        if visited % 1000 == 0:
            deadline.check()
        # An empty link target is noted before the boilerplate test: its id may well say
        # "cookie" (Sphinx's <span id="std-setting-SESSION_COOKIE_AGE">), which is no banner.
        if tag and element.get("id") and len(element) == 0 and not (element.text or "").strip():
            collector.recent_id = str(element.get("id"))
        if not tag or _is_boilerplate(element):  # comments, processing instructions, chrome
            collector.write(_inline(element.tail))
            continue
        if tag in _HEADINGS and not _titles_a_box(element):
            title = _inline(element.text_content()).strip()
            if title:
                anchor = element.get("id") or collector.recent_id or _anchor(element)
                collector.open_heading(_HEADINGS[tag], title, str(anchor))
            collector.write(_inline(element.tail))
            continue
        if tag == "table":
            rows = table_rows(element)
            if rows:
                collector.add_table(rows, table_caption(element), _table_anchor(element))
                collector.write(_inline(element.tail))
            else:
                collector.write("\n\n" + table_text(element) + "\n\n" + _inline(element.tail))
            continue
        if tag == "pre":  # whitespace is meaningful in preformatted text and code
            collector.write("\n\n" + element.text_content() + "\n\n" + _inline(element.tail))
            continue
        closing = _CLOSE
        if not collector.in_link_list and _is_link_list(element):
            collector.flush()  # the prose before the list is a unit without it
            collector.in_link_list = True
            closing = _CLOSE_UNIT
        if tag in _PARAGRAPH_BLOCKS:  # line blocks (li, tr, br) only end a line
            collector.write("\n\n")
        collector.write(_inline(element.text))
        stack.append((element, closing))
        stack.extend((child, _OPEN) for child in reversed(element))


def _title(root: etree._Element, name: str) -> str:
    # The head's title: a <title> inside the body belongs to SVG, DocBook or SGML read as
    # HTML (a section's title there), not to the page.
    for path in ("//head/title", "//h1"):
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
