"""Per-file parse limits, so one hostile or giant file cannot stall or exhaust the ingester.

Time and memory are enforced hard by :mod:`ingest.isolation` (the parse runs in a worker
process that is killed when over); :class:`Deadline` adds cooperative checks between units so
that a parser that gets there first stops with a precise message. Pages read by OCR earn a
file more time (:meth:`ParseLimits.seconds_allowed`), on both sides alike. The output caps (text and
locators, units) are checked by :func:`check_output` after every parse and by
:meth:`Deadline.check` while records are being built.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest.errors import IngestError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_core.documents import Document

    from ingest.parsed import ParsedFile

_MB = 1024 * 1024


@dataclass(frozen=True)
class ParseLimits:
    """Limits applied to every file; the defaults match ``rag.settings.IngestSettings``.

    ``rag`` builds one from ``settings.ingest``; ``ingest`` never reads settings itself.
    """

    max_bytes: int = int(60.0 * _MB)  # IngestSettings.max_file_mb = 60
    max_seconds: float = 120.0  # IngestSettings.max_seconds_per_file
    max_json_depth: int = 200
    max_string_chars: int = 2_000_000  # one JSON string / XML text node
    max_memory_mb: int = 1024  # IngestSettings.max_parse_mb, enforced in the worker process
    max_units: int = 100_000  # IngestSettings.max_units_per_file
    max_text_ratio: float = 5.0  # characters of text and locators per byte of input
    max_text_base_chars: int = 2_000_000  # allowed to every file on top of the ratio
    ocr_seconds_per_page: float = 20.0  # IngestSettings.ocr_seconds_per_page
    max_ocr_seconds: float = 1800.0  # IngestSettings.max_ocr_seconds_per_file

    @classmethod
    def from_megabytes(
        cls,
        max_file_mb: float,
        max_seconds: float = 120.0,
        max_json_depth: int = 200,
        max_string_chars: int = 2_000_000,
        **caps: float,
    ) -> ParseLimits:
        """Limits from the settings' units (MB rather than bytes); ``caps`` are the other
        fields by name (``max_memory_mb``, ``max_units``...)."""
        return cls(int(max_file_mb * _MB), max_seconds, max_json_depth, max_string_chars,
                   **caps)  # type: ignore[arg-type]

    def seconds_allowed(self, ocr_pages: int = 0) -> float:
        """The file's parse time limit once ``ocr_pages`` pages have been read by OCR.

        Each page read adds ``ocr_seconds_per_page`` after it is read (so the worker and the
        parent, which hears of a page when it is done, agree), up to ``max_ocr_seconds`` for
        the whole file. A cap in seconds rather than pages because the worker's time is what
        a hostile file costs: its page count is capped anyway (``max_units``), but 100,000
        pages of allowance would be weeks. ``max_seconds`` above the cap still holds.
        """
        earned = self.max_seconds + ocr_pages * self.ocr_seconds_per_page
        return min(earned, self.ocr_ceiling())

    def ocr_ceiling(self) -> float:
        """The most time a file may take however many pages OCR reads."""
        return max(self.max_seconds, self.max_ocr_seconds)

    def describe_time_limit(self, ocr_pages: int = 0) -> str:
        """The time limit in words ("the limit of N s"), with what OCR pages added to it."""
        seconds = self.seconds_allowed(ocr_pages)
        if not ocr_pages or seconds == self.max_seconds:
            return f"the limit of {seconds:g} s"
        capped = f", at most {self.ocr_ceiling():g} s" if seconds >= self.ocr_ceiling() else ""
        return (f"the limit of {seconds:g} s ({self.max_seconds:g} s + "
                f"{self.ocr_seconds_per_page:g} s a page for {ocr_pages} "
                f"page{'s' if ocr_pages > 1 else ''} read by OCR"
                f"{capped})")

    def max_text_chars(self, size: int) -> int:
        """Characters of text and locators a file of ``size`` bytes may expand to."""
        return int(self.max_text_ratio * size) + self.max_text_base_chars


def check_size(size: int, name: str, limits: ParseLimits) -> None:
    """Refuse empty files and files over ``limits.max_bytes`` before any parsing work."""
    if size == 0:
        raise IngestError(name, "empty file")
    if size > limits.max_bytes:
        raise IngestError(
            name, f"file is {_megabytes(size)} MB, limit is {_megabytes(limits.max_bytes)} MB"
        )


def _megabytes(size: int) -> str:
    # One decimal for real files; small limits (tests, tight configs) keep 2 significant digits.
    megabytes = size / _MB
    return f"{megabytes:.1f}".removesuffix(".0") if megabytes >= 1 else f"{megabytes:.2g}"


def units_over_limit(name: str, limits: ParseLimits) -> IngestError:
    return IngestError(name, f"the file has more than {limits.max_units:,} units (pages, "
                             "sections or records), the limit per file")


def check_output(parsed: ParsedFile, size: int, name: str, limits: ParseLimits) -> None:
    """Refuse a parse whose units, or whose text and locators together, exceed the caps.

    Metadata counts as well as text: what blew a 223 KB JSON up to 595 MB was locators and
    paths, and every chunk of a unit carries them again. The file fails rather than being cut
    short: an index silently missing the end of a document answers wrongly without saying so.
    """
    if len(parsed.units) > limits.max_units:
        raise units_over_limit(name, limits)
    if stored_chars(parsed.units) > limits.max_text_chars(size):
        raise text_over_limit(name, size, limits)


def stored_chars(units: Sequence[Document]) -> int:
    """Characters of text and of string metadata (locators, paths, names) in ``units``."""
    return sum(len(unit.page_content)
               + sum(len(value) for value in unit.metadata.values() if isinstance(value, str))
               for unit in units)


def text_over_limit(name: str, size: int, limits: ParseLimits) -> IngestError:
    return IngestError(
        name,
        f"parsing expands the {_megabytes(size)} MB file to more than "
        f"{limits.max_text_chars(size):,} characters of text and locators (the limit: "
        f"{limits.max_text_ratio:g} per byte + {limits.max_text_base_chars:,}); "
        "such growth comes from names repeated for every field, not from content",
    )


class Deadline:
    """Cooperative parse time limit: parsers call ``check()`` between units (pages, records).

    Cooperative because the parsers run C code (pdfium, libxml2) that cannot be interrupted
    safely from Python; the worker process running the parse is killed when it overruns (see
    :mod:`ingest.isolation`). ``check(units)``, given the units built so far, also enforces
    the unit cap, and with the file's ``size`` known the text cap, before a million tiny
    records have all been made. Each page read by OCR moves the limit on
    (:meth:`ocr_page_read`).
    """

    def __init__(self, name: str, limits: ParseLimits, size: int | None = None) -> None:
        self._name = name
        self._limits = limits
        self._size = size
        self._counted, self._chars = 0, 0  # units counted so far, and their characters
        self._start = time.monotonic()
        self.ocr_pages = 0  # pages read by OCR so far: each earns the file more time

    @property
    def limits(self) -> ParseLimits:
        return self._limits

    def ocr_page_read(self) -> None:
        """One more page read by OCR: the limit moves on by its allowance (up to the cap)."""
        self.ocr_pages += 1

    @property
    def _end(self) -> float:
        return self._start + self._limits.seconds_allowed(self.ocr_pages)

    def check(self, units: Sequence[Document] = ()) -> None:
        if len(units) > self._limits.max_units:
            raise units_over_limit(self._name, self._limits)
        if self._size is not None and len(units) > self._counted:
            self._chars += stored_chars(units[self._counted:])
            self._counted = len(units)
            if self._chars > self._limits.max_text_chars(self._size):
                raise text_over_limit(self._name, self._size, self._limits)
        if time.monotonic() > self._end:
            raise IngestError(self._name, self.reason())

    def remaining(self) -> float:
        """Seconds left before the limit (0 when past it): the timeout of a child process."""
        return max(0.0, self._end - time.monotonic())

    def reason(self) -> str:
        return f"parsing took longer than {self._limits.describe_time_limit(self.ocr_pages)}"
