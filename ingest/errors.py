"""The error types the ingestion layer raises for a bad file."""

from __future__ import annotations


class IngestError(Exception):
    """A file could not be ingested; ``file`` names it, ``reason`` says why in plain words."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


class NotADocumentError(IngestError):
    """The content is no document format we read (binary data: an image, an archive...).

    Raised for a file whose extension did not say what it is: a folder ingest reports it as
    skipped, not failed, since a folder of documents routinely holds such files.
    """


class NotWellFormedError(IngestError):
    """Markup that no XML parser reads, even in recover mode: the caller may read its text
    another way (ingest/__init__.py tries the HTML parser), the error then being a warning."""
