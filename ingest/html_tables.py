"""HTML tables as text rows "Header1: cell1 | Header2: cell2", which embed and quote well.

A table with a header row is a list of records: :func:`table_rows` gives each row on its own
with the row's name (its first cell under its column's header), and :func:`table_caption` the
table's title, so the HTML parser can make each row a record unit whose chunk header names the
table and the row, as the JSON and XML parsers do with their records. A question about one row
then meets a chunk about that row, not one diluted over the whole table. A table without a
header row (a layout grid, a list of names) stays text: its rows have no fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import zip_longest

from lxml import etree

_SPACE = re.compile(r"\s+")
ROW_NAME_MAX_CHARS = 60  # a row is named by a short first cell (a type, a key), not a sentence


@dataclass(frozen=True)
class TableRow:
    text: str  # "Header1: cell1 | Header2: cell2"
    name: str  # "Header1: cell1" when that first cell is short, else ""
    element: etree._Element  # the <tr>, for its id


def _cell_text(cell: etree._Element) -> str:
    return _SPACE.sub(" ", cell.text_content()).strip()


def _rows(table: etree._Element) -> list[etree._Element]:
    # Only this table's rows: a nested table's rows belong to the cell that holds it.
    return table.xpath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr")


def table_caption(table: etree._Element) -> str:
    """The table's own title: its <caption>, else the ``summary`` or ``aria-label`` that
    generators such as DocBook write ("Numeric Types")."""
    caption = table.find("caption")
    if caption is not None and _cell_text(caption):
        return _cell_text(caption)
    for attribute in ("summary", "aria-label"):
        text = _SPACE.sub(" ", table.get(attribute) or "").strip()
        if text:
            return text
    return ""


def _split(table: etree._Element) -> tuple[list[str], list[tuple[etree._Element, list[str]]]]:
    """The header row's texts (first all-<th> row; [] if none) and the other non-empty rows."""
    headers: list[str] = []
    rows = []
    for row in _rows(table):
        cells = row.xpath("./th | ./td")
        texts = [_cell_text(cell) for cell in cells]
        if not headers and not rows and cells and all(cell.tag == "th" for cell in cells):
            headers = texts
            continue
        if any(texts):
            rows.append((row, texts))
    return headers, rows


def _row_text(headers: list[str], texts: list[str]) -> str:
    if not headers:
        return " | ".join(t for t in texts if t)
    pairs = zip_longest(headers, texts, fillvalue="")
    return " | ".join(f"{h}: {t}" if h else t for h, t in pairs if t)


def table_rows(table: etree._Element) -> list[TableRow]:
    """One :class:`TableRow` per data row of a table with a header row; [] without one."""
    headers, rows = _split(table)
    if not headers or not rows:
        return []
    out = []
    for element, texts in rows:
        first = texts[0] if texts else ""
        name = (f"{headers[0]}: {first}" if headers[0] else first) if (
            first and len(first) <= ROW_NAME_MAX_CHARS) else ""
        out.append(TableRow(_row_text(headers, texts), name, element))
    return out


def table_text(table: etree._Element) -> str:
    """The whole table as text: its caption, then one line per row."""
    caption = table_caption(table) if table.find("caption") is not None else ""
    headers, rows = _split(table)
    lines = [caption] if caption else []
    lines += [_row_text(headers, texts) for _, texts in rows]
    if headers and not rows:
        lines.append(" | ".join(headers))  # a header-only table still says something
    return "\n".join(lines)
