"""Per-file parse limits, so one hostile or giant file cannot stall or exhaust the ingester."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ingest.errors import IngestError

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

    @classmethod
    def from_megabytes(
        cls,
        max_file_mb: float,
        max_seconds: float = 120.0,
        max_json_depth: int = 200,
        max_string_chars: int = 2_000_000,
    ) -> ParseLimits:
        """Limits from the settings' units (MB rather than bytes)."""
        return cls(int(max_file_mb * _MB), max_seconds, max_json_depth, max_string_chars)


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


class Deadline:
    """Cooperative parse time limit: parsers call ``check()`` between units (pages, records).

    Cooperative because the parsers run C code (pdfium, libxml2) that cannot be interrupted
    safely from Python; a single page or tree build is bounded by the size limit instead.
    """

    def __init__(self, name: str, limits: ParseLimits) -> None:
        self._name = name
        self._seconds = limits.max_seconds
        self._end = time.monotonic() + limits.max_seconds

    def check(self) -> None:
        if time.monotonic() > self._end:
            raise IngestError(
                self._name, f"parsing took longer than the limit of {self._seconds:g} s"
            )
