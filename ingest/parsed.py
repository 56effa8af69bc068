"""The result of parsing one file, and helpers every parser shares."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from langchain_core.documents import Document

from ingest.limits import ParseLimits

_SEPARATORS = re.compile(r"[/\\]")
_BLANK_RUNS = re.compile(r"\n{3,}")
# Locators, section paths and record names (every string in a unit's metadata) are cut to
# this: each chunk carries them again, and a path of long keys rebuilt for every field made a
# 223 KB JSON 595 MB. The longest in the 115 real documents is 239 characters.
LOCATOR_MAX_CHARS = 300
_ELISION = "…"


@dataclass(frozen=True)
class ParsedFile:
    """One parsed file: its format key, a title and its structural units (pages, sections...).

    Each unit is a ``Document`` whose metadata holds ``locator`` plus the format's own keys.
    ``warnings`` says what the parser had to forgive to read the file (a guessed encoding,
    recovered XML), one plain sentence each, so the ingest report can show it.
    ``ocr_pages`` counts the pages Tesseract read (the report counts OCR'd pages).
    """

    format: str
    title: str
    units: list[Document]
    warnings: tuple[str, ...] = ()
    ocr_pages: int = 0  # pages whose text was read by OCR in this parse


Parser = Callable[[bytes, str, ParseLimits], ParsedFile]


def display_stem(name: str) -> str:
    """The file's stem for use as a fallback title; ``name`` is a display name, not a path."""
    last = _SEPARATORS.split(name)[-1]
    stem, dot, _ = last.rpartition(".")
    return (stem if dot and stem else last) or name


def elide_middle(text: str, limit: int = LOCATOR_MAX_CHARS) -> str:
    """``text`` cut to ``limit`` characters by dropping its middle: the start says where the
    path begins, the end names the field or section itself, so the end gets the larger part.
    Cutting an elided text again keeps the same start and end (paths can be built step by
    step from elided parents)."""
    if len(text) <= limit:
        return text
    head = (limit - len(_ELISION)) // 3
    tail = limit - len(_ELISION) - head
    return f"{text[:head]}{_ELISION}{text[len(text) - tail:]}"


def make_unit(text: str, locator: str, **metadata: str | int | float | bool) -> Document:
    """A unit; its locator and every string of its metadata are cut to a sane length."""
    short = {key: elide_middle(value) if isinstance(value, str) else value
             for key, value in metadata.items()}
    return Document(page_content=text, metadata={"locator": elide_middle(locator), **short})


def tidy_text(text: str) -> str:
    """Collapse runs of spaces, strip each line, keep at most one blank line in a row."""
    # str.split() runs in C and knows Unicode spaces (NBSP...); a regex sub is ~10x slower here.
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()
