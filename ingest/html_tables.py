"""HTML tables as text rows "Header1: cell1 | Header2: cell2", which embed and quote well."""

from __future__ import annotations

import re
from itertools import zip_longest

from lxml import etree

_SPACE = re.compile(r"\s+")


def _cell_text(cell: etree._Element) -> str:
    return _SPACE.sub(" ", cell.text_content()).strip()


def _rows(table: etree._Element) -> list[etree._Element]:
    # Only this table's rows: a nested table's rows belong to the cell that holds it.
    return table.xpath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr")


def table_text(table: etree._Element) -> str:
    lines = []
    caption = table.find("caption")
    if caption is not None and _cell_text(caption):
        lines.append(_cell_text(caption))
    headers: list[str] = []
    for row in _rows(table):
        cells = row.xpath("./th | ./td")
        texts = [_cell_text(cell) for cell in cells]
        if not headers and cells and all(cell.tag == "th" for cell in cells):
            headers = texts
            continue
        if not any(texts):
            continue
        if headers:
            pairs = zip_longest(headers, texts, fillvalue="")
            lines.append(" | ".join(f"{h}: {t}" if h else t for h, t in pairs if t))
        else:
            lines.append(" | ".join(t for t in texts if t))
    if headers and len(lines) == (1 if caption is not None else 0):
        lines.append(" | ".join(headers))  # a header-only table still says something
    return "\n".join(lines)
