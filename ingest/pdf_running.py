"""Running heads and feet of a PDF: the line at the top or bottom of many pages ("gnuplot 5.4
51", "52 gnuplot 5.4", "Chapter 3. Types | 41") that the pages repeat with only the page number
changing.

Left in the text, such a line starts or ends every page's chunk: it rides along into the
passage quoted as an answer and weighs on every page's closeness to questions about the book's
title. A line is a running one when, with its numbers masked, it stands at the same edge of at
least :data:`MIN_PAGES` pages (a chapter's running head repeats only on that chapter's pages)
and each of its numbers is either the same on all of them ("5.4") or moves with the page
("21" on the page after "20"): a templated page whose first line carries its own figures
("Item 12: 40 kg") keeps them. It is kept on the first page that has it and dropped from the
others' text (a table header repeated on continuation pages goes the same way); what it says (a
chapter or section name) goes into the header of those pages' chunks instead, where it is
context for search and never quoted.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

MIN_PAGES = 3
EDGE_LINES = 2  # how many lines at each edge may be running (a title line over a page number)
MAX_CHARS = 120  # longer lines are text, not a running head
STEADY_SHARE = 0.8  # of the pages a line is on, where its numbers must follow the rule
_DIGITS = re.compile(r"\d+")
# A page number standing alone at either end of a running line ("52 gnuplot 5.4", "... 71").
_PAGE_NUMBER = re.compile(r"^\d+\s+|\s+\d+$|^\d+$")


def _mask(line: str) -> str:
    return _DIGITS.sub("#", " ".join(line.split()))


def _edges(lines: list[str]) -> list[tuple[tuple[str, str], str]]:
    """((edge, masked line), line) of the lines a running head or foot may be: none on a page
    with a single line, which is that page's text whatever its shape."""
    lines = [line for line in lines if line.strip()]
    if len(lines) < 2:
        return []
    found = [("top", line) for line in lines[:EDGE_LINES]]
    found += [("bottom", line) for line in lines[-EDGE_LINES:]]
    return [((edge, _mask(line)), line) for edge, line in found
            if len(line) <= MAX_CHARS and any(ch.isalnum() for ch in line)]


def _numbers(line: str) -> tuple[int, ...]:
    return tuple(int(n) for n in _DIGITS.findall(line[:MAX_CHARS * 2]))


def _moves_with_pages(seen: list[tuple[int, tuple[int, ...]]]) -> bool:
    """Each number position is constant, or the page index plus a constant, on (nearly)
    every page the line is on."""
    for position in range(len(seen[0][1])):
        values = [numbers[position] for _, numbers in seen]
        offsets = [numbers[position] - page for page, numbers in seen]
        steady = max(Counter(values).most_common(1)[0][1], Counter(offsets).most_common(1)[0][1])
        if steady < STEADY_SHARE * len(seen):
            return False
    return True


def drop_running_lines(pages: list[str]) -> tuple[list[str], list[str]]:
    """``pages`` with their running heads and feet removed (see the module doc), and for each
    page what its removed lines said without their page numbers ("5.11. Non-Maintainer
    Uploads (NMUs)"): the section a page is in, which its chunks carry in their header."""
    page_lines = [page.split("\n") for page in pages]
    occurrences: defaultdict[tuple[str, str], list[tuple[int, tuple[int, ...]]]] = (
        defaultdict(list))
    for page, lines in enumerate(page_lines):
        for key, line in set(_edges(lines)):
            occurrences[key].append((page, _numbers(line)))
    running = {key for key, seen in occurrences.items()
               if len(seen) >= MIN_PAGES and _moves_with_pages(seen)}
    if not running:
        return pages, [""] * len(pages)
    seen: set[tuple[str, str]] = set()
    texts, contexts = [], []
    for lines in page_lines:
        keep, removed = list(lines), []
        for edge, index in (("top", 0), ("bottom", -1)):  # outermost line first
            for _ in range(EDGE_LINES):
                while keep and not keep[index].strip():
                    keep.pop(index)
                if not keep or (edge, _mask(keep[index])) not in running:
                    break
                if not _drop((edge, _mask(keep[index])), seen):
                    break
                removed.append(_PAGE_NUMBER.sub("", keep.pop(index)).strip())
        texts.append("\n".join(keep).strip("\n"))
        said = (r for r in removed if any(c.isalpha() for c in r))
        contexts.append(" · ".join(dict.fromkeys(said)))
    return texts, contexts


def _drop(key: tuple[str, str], seen: set[tuple[str, str]]) -> bool:
    """Drop every occurrence but the first."""
    if key in seen:
        return True
    seen.add(key)
    return False
