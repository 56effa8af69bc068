"""Page text from PDFium with the lines of a paragraph joined, so sentences survive chunking.

PDFium gives one line of text per visual line, and chunks split at line ends, so a sentence
wrapped by the typesetter was cut in two. A line is joined to the next one only when the
page's own layout says the typesetter wrapped it: the next line follows at the page's usual
pitch in the same font size, the line reads like prose, and it reaches the right edge of its
text, either a margin that several lines of the page share (justified text) or so close to
its column's edge that the next line's first word would not have fitted (ragged right).
Lines in a fixed-pitch font (code) and lines with a table's wide blank keep their breaks, and
so do headings, table rows and reference cards, whose lines are short or spread out.
Paragraphs are set apart by a blank line, so that chunk boundaries fall there."""

from __future__ import annotations

import re
from itertools import pairwise
from statistics import median

import pypdfium2 as pdfium

from ingest.pdf_lines import PageLines, VisualLine

# A line starting like this begins a list item, so it is never glued to the line above.
_ITEM_START = re.compile(r"(?:[•◦▪‣●○■□►▸*·–—-]|\(?\d{1,3}[.)]|\(?[a-z]\)|\([ivx]+\))\s")
_SENTENCE_END = (".", "!", "?", ":")
# Dot leaders: a table of contents or an index ("\color . . . 12, 15"). The blanks after the
# dots are taken possessively: "\s*" before a class that also holds " " split a run of spaces
# every way and was quadratic ("x . . ." then 100,000 spaces). A tail of blanks alone still
# counts when it ends in a space (before a final newline, as "$" allows), as it did.
_DOT_LEADER = re.compile(
    r"(?:\. ){4}|\.{6}|(?:\. ){2}\.\s*+(?:(?<= )|(?<= \n)|[\d,–-][\d, –-]*+)$"
)

_USUAL_PITCH = 1.2  # baseline distance / font size (10pt type on 12pt), when unmeasured
_SAME_SIZE = 0.95  # font sizes closer than this are one size (TeX: 10pt body, 12pt heading)
_PITCH_SLACK = 1.3  # a pitch this much above the page's usual one is a gap between blocks
_MARGIN_SHARED_BY = 3  # lines ending at the same x before that x counts as a right margin
_MARGIN_BIN = 1.0  # points: justified lines end within a fraction of a point of each other
_MARGIN_REACH = 0.6  # font sizes: punctuation may stick out past the margin (microtype)
_COLUMN_WINDOW = 15  # font sizes up and down (about 12 lines) to find a ragged column's edge
# Prose: long enough, a few words, and no wider per character than running text; a table row
# spreads a few words over the width: measured 0.8 em a character and more, prose 0.4-0.5 em,
# Courier 0.6 em.
_PROSE_MIN_CHARS = 20
_PROSE_MIN_SPACES = 4
_PROSE_MAX_WIDTH_PER_CHAR = 0.65
# Justified lines wider than this per character (prose: 0.5 em at most) get their blanks
# measured: a blank wider than _WIDE_GAP makes a table row (LaTeX puts 1.2 em between
# columns; spaces in prose stay under 0.6 em).
_PLAIN_WIDTH_PER_CHAR = 0.5
_WIDE_GAP = 1.1  # em
_ALIGNED = 0.3  # em


def page_text(text_page: pdfium.PdfTextPage) -> str:
    """The page's text: wrapped lines joined by a space, paragraphs apart by a blank line."""
    page = PageLines(text_page)
    lines = page.lines
    if not lines:
        return ""
    pitch = _usual_pitch(lines)
    margins = _right_margins(lines)
    blocks = [[lines[0]]]
    for index, (above, below) in enumerate(pairwise(lines)):
        previous = lines[index - 1] if index else None
        if _wrapped(previous, above, below, pitch, margins, page):
            blocks[-1].append(below)
        else:
            blocks.append([below])
    parts = [_block_text(blocks[0])]
    for before, after in pairwise(blocks):
        # A break next to a paragraph or after a gap is a paragraph break; between single
        # lines at the usual pitch (table rows, code, a reference card) it stays a line break.
        paragraph = len(before) > 1 or len(after) > 1
        paragraph = paragraph or not _follows(before[-1], after[0], pitch)
        parts.append("\n\n" if paragraph else "\n")
        parts.append(_block_text(after))
    return "".join(parts)


def _block_text(block: list[VisualLine]) -> str:
    parts = [block[0].text]
    for above, below in pairwise(block):
        if above.hyphen and below.text[0].islower():
            pass  # "regu-" + "lar": the hyphen only broke the word
        elif above.hyphen:
            parts.append("-")  # "Non-" + "Maintainer": a compound's own hyphen
        elif not (above.text.endswith("-") and above.text[-2:-1].isalnum()):
            parts.append(" ")  # "512-" + "byte" stays one token; everything else gets a space
        parts.append(below.text)
    if block[-1].hyphen:
        parts.append("-")
    return "".join(parts)


def _wrapped(
    previous: VisualLine | None,
    above: VisualLine,
    below: VisualLine,
    pitch: float,
    margins: list[float],
    page: PageLines,
) -> bool:
    """Whether ``below`` continues the paragraph of ``above`` (the typesetter wrapped it)."""
    if above.size <= 0 or not _same_size(above, below):
        return False  # no box, or a change of font size: heading, footnote
    size = above.size
    if not _follows(above, below, pitch):
        return False
    if below.left >= above.right or below.right <= above.left:
        return False  # side by side, not one under the other: another column
    if _ITEM_START.match(below.text) or not _reads_as_prose(above):
        return False
    # A full last line of a paragraph, then an indented new sentence: a new paragraph.
    indented = below.left > above.left + 0.5 * size
    if indented and above.text.endswith(_SENTENCE_END) and not below.text[0].islower():
        return False
    margin = _margin_of(above, below, margins)
    if margin is None and not _fills_column(above, below, page.lines):
        return False
    # The common case, decided without a closer look: a justified paragraph, where the line
    # before or after ends at the same margin, and no wide blanks are likely.
    justified = margin is not None and any(
        line is not None and abs(line.right - margin) <= _MARGIN_REACH * line.size
        for line in (previous, below)
    )
    if justified and _width_per_char(above) <= _PLAIN_WIDTH_PER_CHAR * size:
        return True
    if page.typewriter(above):
        return False  # code or plain text: its lines are the author's
    # A wide blank inside the line makes it a table row, unless the next line goes on
    # under the text after that blank: a description wrapped in its column.
    resumes = page.resumes_after_gaps(above, _WIDE_GAP * size)
    return not resumes or abs(below.left - resumes[-1]) <= _ALIGNED * size


def _follows(above: VisualLine, below: VisualLine, pitch: float) -> bool:
    """``below`` is the next line down at the page's usual line pitch, not after a gap."""
    step = above.baseline - below.baseline
    return 0.5 * above.size < step <= pitch * _PITCH_SLACK * above.size


def _reads_as_prose(line: VisualLine) -> bool:
    text = line.text
    if len(text) < _PROSE_MIN_CHARS or text.count(" ") < _PROSE_MIN_SPACES:
        return False
    if has_dot_leader(text):
        return False
    return _width_per_char(line) <= _PROSE_MAX_WIDTH_PER_CHAR * line.size


def has_dot_leader(text: str) -> bool:
    """Whether a line holds dot leaders, as a table of contents or an index line does."""
    return (". . ." in text or "......" in text) and bool(_DOT_LEADER.search(text))


def _width_per_char(line: VisualLine) -> float:
    return (line.right - line.left) / len(line.text)


def _margin_of(above: VisualLine, below: VisualLine, margins: list[float]) -> float | None:
    """Justified text: the margin where ``above`` ends, shared by several lines of the page."""
    reach = _MARGIN_REACH * above.size
    for margin in margins:
        if margin - reach <= above.right <= margin + reach and below.right <= margin + reach:
            return margin
    return None


def _fills_column(above: VisualLine, below: VisualLine, lines: list[VisualLine]) -> bool:
    """Ragged right: the next line's first word would not have fit after ``above``."""
    first_word = below.text.split(" ", 1)[0]
    room = _column_right(above, lines) - above.right
    return room < _width_per_char(below) * (len(first_word) + 1)


def _column_right(line: VisualLine, lines: list[VisualLine]) -> float:
    # Nearby and in the same font size, so that running heads, a wide table further down
    # or the neighbouring column do not count.
    window = _COLUMN_WINDOW * line.size
    return max(
        (
            other.right
            for other in lines
            if abs(other.baseline - line.baseline) <= window
            and other.left < line.right
            and other.right > line.left
            and _same_size(other, line)
        ),
        default=line.right,
    )


def _same_size(one: VisualLine, other: VisualLine) -> bool:
    return min(one.size, other.size) >= _SAME_SIZE * max(one.size, other.size)


def _usual_pitch(lines: list[VisualLine]) -> float:
    """The page's usual baseline distance between lines of one font size, in font sizes."""
    steps = [
        (above.baseline - below.baseline) / above.size
        for above, below in pairwise(lines)
        if above.size > 0 and above.size == below.size
    ]
    steps = [step for step in steps if 0.5 < step < 3.0]
    return median(steps) if steps else _USUAL_PITCH


def _right_margins(lines: list[VisualLine]) -> list[float]:
    """x positions where several lines end: the right edges of justified text blocks."""
    rights = sorted(line.right for line in lines if line.size > 0)
    margins = []
    group: list[float] = []
    for right in rights:
        if group and right - group[-1] > _MARGIN_BIN:
            if len(group) >= _MARGIN_SHARED_BY:
                margins.append(median(group))
            group = []
        group.append(right)
    if len(group) >= _MARGIN_SHARED_BY:
        margins.append(median(group))
    return margins
