"""A PDF page's visual lines with their position, read from PDFium's text page.

Cheap by design: a line costs four PDFium calls (origin and size of its first character,
box and size of its last). The dearer looks (gaps between words, the font's name) are
methods that ``ingest.pdf_text`` calls only for the few lines where they decide something.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

# PDFium puts U+FFFE where it saw a hyphen at a line end and drops the line break after it
# (older builds use \x02); splitting there gives each of the two visual lines its own box.
_HYPHEN_MARK = "\ufffe"
# From the first to the last non-blank character of a visual line.
_VISUAL_LINE = re.compile(r"[^\s\ufffe](?:[^\r\n\ufffe]*[^\s\ufffe])?")
_BLANKS = re.compile(r"\s+")
# Typewriter faces: TeX's cmtt/sftt/lmtt (LMMono), Courier, and the usual code fonts.
_TYPEWRITER_FONT = re.compile(
    r"mono|courier|consol|menlo|monaco|typewriter|^(?:cm|sf|lm|ec)tt", re.IGNORECASE
)
_FIXED_PITCH_FLAG = 1  # PDF font descriptor flags, bit 1
_NARROWEST = 0.5  # em
_NARROW_CHARS = re.compile(r"[ilj.,:;!|'I1tf]")
_WIDE_CHARS = re.compile(r"[mwMW@%]")
_NON_BLANK = re.compile(r"\S")
_SAME_ADVANCE = 0.02  # relative: one advance width, measured twice


@dataclass(frozen=True, slots=True)
class VisualLine:
    text: str  # blanks collapsed to one space
    left: float
    right: float
    baseline: float  # of the first character
    size: float  # font size, the larger at either end; 0 when PDFium had none
    hyphen: bool  # PDFium saw a word broken by a hyphen at this line's end
    start: int  # span in ``PageLines.raw``
    end: int


class PageLines:
    """The visual lines of one text page, and finer looks at them on demand."""

    def __init__(self, text_page: pdfium.PdfTextPage) -> None:
        self._page = text_page.raw  # raw calls below: the helpers cost more than PDFium here
        self._rect = pdfium_c.FS_RECTF()
        self.raw = text_page.get_text_range().replace("\x02", _HYPHEN_MARK).replace("\x00", " ")
        self._char_index = _char_index_of(text_page, self.raw)
        self._point = (ctypes.c_double(), ctypes.c_double())
        self.lines = [self._measure(match) for match in _VISUAL_LINE.finditer(self.raw)]

    def resumes_after_gaps(self, line: VisualLine, min_gap: float) -> list[float]:
        """x where text resumes after each blank wider than ``min_gap`` points in ``line``."""
        resumes = []
        for blank in _BLANKS.finditer(self.raw, line.start, line.end):
            before = self._box(self._char_index(blank.start() - 1))
            after = self._box(self._char_index(blank.end()))
            if not (before and after):
                continue
            # Some glyphs come with a box far too narrow (the X of the TeX logo: 1.5 pt), so
            # the character before a blank is taken to be at least half an em wide.
            end_before = max(before[2], before[0] + _NARROWEST * line.size)
            if after[0] - end_before > min_gap:
                resumes.append(after[0])
        return resumes

    def typewriter(self, line: VisualLine) -> bool:
        """Whether the line is set in a fixed-pitch font (code, plain text)."""
        first, last = self._char_index(line.start), self._char_index(line.end - 1)
        if self._typewriter_font(first) and self._typewriter_font(last):
            return True
        # Or by its shape, as the font's name may not tell (LetterGothic12PitchBT): its first
        # character, its last, one in the middle and its narrowest and widest letters (an "i"
        # and an "m" differ by 2.5 times in a proportional font) all have one width.
        first_box = self._box(first)
        if not first_box or first_box[2] <= first_box[0]:
            return False
        width = first_box[2] - first_box[0]
        middle = (line.start + line.end) // 2
        probes = (
            pattern.search(self.raw, start, line.end)
            for pattern, start in (
                (_NARROW_CHARS, line.start),
                (_WIDE_CHARS, line.start),
                (_NON_BLANK, middle),
            )
        )
        positions = {probe.start() for probe in probes if probe} | {line.end - 1}
        for position in positions:
            box = self._box(self._char_index(position))
            if not box or abs(box[2] - box[0] - width) > _SAME_ADVANCE * width:
                return False
        return True

    def _measure(self, match: re.Match[str]) -> VisualLine:
        start, end = match.span()
        text = " ".join(match.group().split())
        hyphen = self.raw.startswith(_HYPHEN_MARK, end)
        first, last = self._char_index(start), self._char_index(end - 1)
        size = max(
            pdfium_c.FPDFText_GetFontSize(self._page, first),
            pdfium_c.FPDFText_GetFontSize(self._page, last),
        )
        x, y = self._point
        box = self._box(self._char_index(end) if hyphen else last)  # the hyphen ends the line
        if size <= 0 or not box or not pdfium_c.FPDFText_GetCharOrigin(self._page, first, x, y):
            return VisualLine(text, 0.0, 0.0, 0.0, 0.0, hyphen, start, end)
        return VisualLine(text, x.value, box[2], y.value, size, hyphen, start, end)

    def _box(self, index: int) -> tuple[float, float, float, float] | None:
        # Loose: the font's full height and advance, so characters of one font line up.
        rect = self._rect
        if not pdfium_c.FPDFText_GetLooseCharBox(self._page, index, rect):
            return None
        return rect.left, rect.bottom, rect.right, rect.top

    def _typewriter_font(self, index: int) -> bool:
        flags = ctypes.c_int()
        length = pdfium_c.FPDFText_GetFontInfo(self._page, index, None, 0, flags)
        if length <= 0:
            return False
        name = ctypes.create_string_buffer(length)
        pdfium_c.FPDFText_GetFontInfo(self._page, index, name, length, flags)
        base_name = name.value.decode("utf-8", "replace").rpartition("+")[2]  # "ABCDEF+CMTT10"
        return bool(flags.value & _FIXED_PITCH_FLAG) or bool(_TYPEWRITER_FONT.search(base_name))


def _same_index(index: int) -> int:
    return index


def _char_index_of(text_page: pdfium.PdfTextPage, raw: str) -> Callable[[int], int]:
    """Maps an index into the page's text to PDFium's character index (``get_charbox``)."""
    if len(raw) == text_page.count_chars():
        return _same_index  # the usual case: one character of text per PDFium character
    # PDFium left some characters out of the text, or the text has characters beyond the
    # BMP (two UTF-16 units in PDFium's text index): ask PDFium for each index we need.
    utf16 = list(accumulate((2 if ord(char) > 0xFFFF else 1 for char in raw), initial=0))
    page = text_page.raw
    return lambda index: pdfium_c.FPDFText_GetCharIndexFromTextIndex(page, utf16[index])
