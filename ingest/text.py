"""Plain text and Markdown.

Plain text is one unit (the chunker splits it at blank lines first, then lines, sentences).
Markdown gets one unit per heading section; ATX ("## Linux") and setext (underlined) headings
build the ``section`` path "Install > Linux" as HTML does. Fenced code is kept verbatim and
"#" lines inside a fence are code, not headings. YAML front matter stays in the first unit.
"""

from __future__ import annotations

import re

from ingest.errors import IngestError
from ingest.limits import ParseLimits, check_size
from ingest.parsed import ParsedFile, display_stem, make_unit
from ingest.textcodec import decode_document

_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_NO_TEXT = "no text to index (the file is blank)"


_HEADING_MAX_CHARS = 100


def _atx_heading(line: str) -> tuple[int, str] | None:
    """Level and title of an ATX heading line ("## Linux ##" -> (2, "Linux")), else None.

    String code, not a pattern: the regex this replaces (a lazy title before optional closing
    hashes and trailing blanks) backtracked quadratically, and a heading line of 1 MB of
    spaces in an uploaded file ran for hours.
    """
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3:
        return None  # indented four or more: code, not a heading
    rest = stripped.lstrip("#")
    level = len(stripped) - len(rest)
    if not 1 <= level <= 6 or (rest and rest[0] not in " \t"):
        return None
    title = rest.strip(" \t")
    unclosed = title.rstrip("#")
    # A closing run of hashes counts only after a blank ("# C#" keeps its "#").
    if not unclosed:
        title = ""
    elif unclosed[-1] in " \t":
        title = unclosed.rstrip(" \t")
    return level, title


def _is_underline(line: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= 3 and len(set(stripped)) == 1 and stripped[0] in "=-~*#^"


def _heading_lines(raw: list[str]) -> list[int]:
    """Lines of plain text that head a section, by the two layouts plain text uses for them:
    a line underlined with =, -, ~ (setext, reStructuredText), or a line at the left margin
    between blank lines whose following text is indented (changelogs, NEWS files:
    "Changes with nginx 1.0.0  12 Apr 2011" over its indented entries)."""
    found = []
    for i, line in enumerate(raw):
        stripped = line.strip()
        if not stripped or len(stripped) > _HEADING_MAX_CHARS or _is_underline(line):
            continue
        if i > 0 and raw[i - 1].strip() and not _is_underline(raw[i - 1]):
            continue  # inside a paragraph
        following = raw[i + 1] if i + 1 < len(raw) else ""
        if _is_underline(following) and not line[0].isspace():
            found.append(i)
            continue
        if line[0].isspace() or following.strip():
            continue
        after = next((r for r in raw[i + 2:] if r.strip()), "")
        if after[:1].isspace():
            found.append(i)
    return found


def parse_text(data: bytes, name: str, limits: ParseLimits) -> ParsedFile:
    """Units: one per section (see :func:`_heading_lines`; the whole file when it has none),
    with ``section`` (the heading, "" before the first), locator "" and ``line``, the file
    line the unit starts on.

    Spaces are collapsed per line but every line is kept (blank ones too), so the chunker can
    name the lines each chunk holds: the citation of a changelog entry is its line numbers.
    """
    check_size(len(data), name, limits)
    decoded = decode_document(data, name)
    raw = decoded.text.split("\n")
    lines = [" ".join(line.split()) for line in raw]
    headings = set(_heading_lines(raw))
    starts = sorted({0, *headings})
    units = []
    for start, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        filled = [i for i in range(start, end) if lines[i]]
        if not filled:
            continue
        section = lines[start] if start in headings else ""
        text = "\n".join(lines[filled[0]:filled[-1] + 1])
        units.append(make_unit(text, "", section=section, line=filled[0] + 1))
    if not units:
        raise IngestError(name, _NO_TEXT)
    return ParsedFile(format="text", title=display_stem(name), units=units,
                      warnings=decoded.warnings)


class _MarkdownSections:
    def __init__(self) -> None:
        self.units: list = []
        self.path: list[tuple[int, str]] = []
        self.lines: list[str] = []
        self.start = 0  # 0-based file line of self.lines[0]
        self.first_h1 = ""

    def flush(self) -> None:
        joined = "\n".join(self.lines)
        text = joined.strip("\n")
        heading = self.path[-1][1] if self.path else ""
        self.lines = []
        if not text.strip() or text.strip() == heading:
            return  # a heading with nothing under it before the next heading
        section = " > ".join(title for _, title in self.path)
        line = self.start + len(joined) - len(joined.lstrip("\n")) + 1
        self.units.append(make_unit(text, section, section=section, line=line))

    def heading(self, level: int, title: str, index: int) -> None:
        self.flush()
        while self.path and self.path[-1][0] >= level:
            self.path.pop()
        self.path.append((level, title))
        self.start = index
        self.lines.append(title)
        if level == 1 and not self.first_h1:
            self.first_h1 = title


def _front_matter_end(lines: list[str]) -> int:
    if lines and lines[0].strip() == "---":
        for index in range(1, len(lines)):
            if lines[index].strip() in ("---", "..."):
                return index + 1
    return 0


def parse_markdown(data: bytes, name: str, limits: ParseLimits) -> ParsedFile:
    """Units: one per heading section; metadata ``section``; locator = the section path."""
    check_size(len(data), name, limits)
    decoded = decode_document(data, name)
    lines = decoded.text.split("\n")
    sections = _MarkdownSections()
    start = _front_matter_end(lines)
    sections.lines.extend(lines[:start])
    fence = ""
    for index in range(start, len(lines)):
        line = lines[index]
        opener = _FENCE.match(line)
        if fence:
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence):
                fence = ""
            sections.lines.append(line)
            continue
        if opener:
            fence = opener.group(1)
            sections.lines.append(line)
            continue
        atx = _atx_heading(line)
        if atx and atx[1].strip():
            sections.heading(atx[0], atx[1].strip(), index)
            continue
        previous = sections.lines[-1] if sections.lines else ""
        setext = _SETEXT.match(line)
        if setext and previous.strip() and not _FENCE.match(previous) and _is_paragraph_line(
            previous
        ):
            sections.lines.pop()
            sections.heading(1 if setext.group(1)[0] == "=" else 2, previous.strip(), index - 1)
            continue
        sections.lines.append(line)
    sections.flush()
    if not sections.units:
        raise IngestError(name, _NO_TEXT)
    title = sections.first_h1 or display_stem(name)
    return ParsedFile(format="markdown", title=title, units=sections.units,
                      warnings=decoded.warnings)


def _is_paragraph_line(line: str) -> bool:
    """A setext underline only makes a heading of a plain paragraph line (not a list item)."""
    stripped = line.strip()
    return not (stripped.startswith(("- ", "* ", "+ ", ">", "|")) or _SETEXT.match(line))
