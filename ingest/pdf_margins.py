"""Running heads and feet of a paginated document: the lines its typesetter repeats at the top
or bottom of page after page ("gnuplot 5.4 55", "Chapter 4: Shell Builtin Commands 49", a page
number, a slide deck's navigation bar).

Such a line is no passage: quoted, an answer would open with the manual's name and a page
number. It is found here and recorded with its page (the chunk's ``running`` metadata) so that
the answer step passes over it (rag.answer.context), while the page's text keeps it: measured
on realdocs and the fictional set, taking the lines out of the indexed text lost a question
on each (the name on every page is context that a page's passages otherwise lack).

A line is a running one when its digit-blind form (page numbers and dates change from page to
page) stands among the first or last few lines of at least :data:`MIN_PAGES` pages, and on at
least :data:`MIN_SHARE` of the pages from its first such page to its last: heads that
alternate between left and right pages stand on half of them, while a content line that
happens to open a few pages of a long manual ("Syntax:") is far sparser. On the first page it
stands on it is content (a slide's title repeated on the frames that continue it), and so is
the whole text of a page made of nothing else.

What a running head says is also kept where it helps: a PDF without an outline has no other
record of which chapter a page belongs to, and its heads name it (:attr:`Margins.heads`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

EDGE_LINES = 2  # lines at the top and at the bottom of a page where running lines stand
MIN_PAGES = 3
MIN_SHARE = 0.4
DOCUMENT_WIDE = 0.8  # a running line on this share of all pages names the document, no part
_DIGITS = re.compile(r"\d+")
_PAGE_NUMBER = re.compile(r"^\d+\s+|\s+\d+$")


@dataclass(frozen=True)
class Margins:
    """The running lines of a document's pages."""

    # Per page, its running lines as they stand in its text (none on the first page a line
    # stands on, or on a page with no other text).
    running: list[tuple[str, ...]]
    # Per page, the running head naming the part it belongs to ("Chapter 4: Shell Builtin
    # Commands", its page number left out), or "": the most specific running line standing
    # on the page, none standing on nearly every page (the manual's own name).
    heads: list[str]


def _key(line: str) -> str:
    return _DIGITS.sub("#", " ".join(line.split())).casefold()


def _edge_positions(lines: Sequence[str]) -> list[int]:
    """Indexes of the first and last :data:`EDGE_LINES` non-blank lines."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return sorted(set(filled[:EDGE_LINES] + filled[-EDGE_LINES:]))


def read_margins(pages: Sequence[str]) -> Margins:
    """The running lines of ``pages`` (one text per page, in order) and what their heads say."""
    split = [page.split("\n") for page in pages]
    # Per page, its edge lines' digit-blind keys by line index, in page order.
    edges = [{i: _key(lines[i]) for i in _edge_positions(lines)} for lines in split]
    seen: dict[str, list[int]] = {}
    for number, keys in enumerate(edges):
        for key in set(keys.values()):
            seen.setdefault(key, []).append(number)
    running = {
        key: numbers for key, numbers in seen.items()
        if len(numbers) >= MIN_PAGES
        and len(numbers) >= MIN_SHARE * (numbers[-1] - numbers[0] + 1)
    }
    out: list[tuple[str, ...]] = []
    heads = []
    for number, (lines, keys) in enumerate(zip(split, edges, strict=True)):
        # Each running line of the page with the pages its key stands on.
        on_page = {i: running[key] for i, key in keys.items() if key in running}
        heads.append(_head(lines, on_page, len(pages)))
        repeated = [i for i, numbers in on_page.items() if numbers[0] != number]
        others = any(line.strip() for i, line in enumerate(lines) if i not in repeated)
        out.append(tuple(lines[i] for i in repeated) if others else ())
    return Margins(out, heads)


def _head(lines: Sequence[str], on_page: dict[int, list[int]], page_count: int) -> str:
    """The page's most specific running line, its page number left out ("" without one)."""
    parts = [i for i, numbers in on_page.items() if len(numbers) < DOCUMENT_WIDE * page_count
             and any(ch.isalpha() for ch in lines[i])]
    if not parts:
        return ""
    line = min(parts, key=lambda i: len(on_page[i]))
    return _PAGE_NUMBER.sub("", " ".join(lines[line].split()))
