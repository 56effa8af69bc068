"""The one error type the ingestion layer raises for a bad file."""

from __future__ import annotations


class IngestError(Exception):
    """A file could not be ingested; ``file`` names it, ``reason`` says why in plain words."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason
