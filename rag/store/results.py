"""What the index reports: the outcome of an ingest run (per file and in total), the progress
events sent during one, a stored document's summary and a dense search hit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from langchain_core.documents import Document

from ingest.ocr import OcrPage

# "skipped": not a document we read (binary data) or passed over by the folder walk (hidden,
# the index's own folder...); listed with its reason, but not an error of the run.
FileStatus = Literal["ingested", "unchanged", "failed", "skipped"]
ProgressCallback = Callable[["IngestProgress"], None]


@dataclass(frozen=True)
class FileResult:
    """What happened to one file of an ingest run."""

    path: str
    status: FileStatus
    chunks: int = 0  # chunks the document has now
    embedded: int = 0  # of those, vectors computed in this run
    reused: int = 0  # vectors copied from identical chunks already stored
    reason: str = ""  # why it failed or was skipped (empty otherwise)
    seconds: float = 0.0
    doc_id: str = ""
    warnings: tuple[str, ...] = ()  # what the parser forgave (guessed encoding, recovered XML)
    ocr_pages: int = 0  # pages read by OCR in this run (0 for an unchanged file: not read again)

    @property
    def reason_without_path(self) -> str:
        """The reason without the file's path on the server that starts it: the CLI's user
        wants the path, while a page names the file already and a visitor has no business
        with the server's folders."""
        return self.reason.removeprefix(f"{self.path}: ")


@dataclass(frozen=True)
class IngestReport:
    """All files of one ingest run, in input order."""

    files: tuple[FileResult, ...]
    seconds: float

    @property
    def results(self) -> tuple[FileResult, ...]:
        return self.files

    def _count(self, status: FileStatus) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def ingested(self) -> int:
        return self._count("ingested")

    @property
    def unchanged(self) -> int:
        return self._count("unchanged")

    @property
    def failed(self) -> int:
        return self._count("failed")

    @property
    def skipped(self) -> int:
        return self._count("skipped")

    @property
    def chunks_embedded(self) -> int:
        return sum(f.embedded for f in self.files)

    @property
    def ocr_pages(self) -> int:
        return sum(f.ocr_pages for f in self.files)

    @property
    def failures(self) -> tuple[FileResult, ...]:
        return tuple(f for f in self.files if f.status == "failed")

    def summary(self) -> str:
        """A few lines for a terminal: totals, then one line per failed or skipped file."""
        rate = self.chunks_embedded / self.seconds if self.seconds > 0 else 0.0
        skipped = f", {self.skipped} skipped" if self.skipped else ""
        pages = f"{self.ocr_pages} page{'s' * (self.ocr_pages > 1)}"
        ocr = f"; {pages} read by OCR" if self.ocr_pages else ""
        lines = [
            f"{self.ingested} ingested, {self.unchanged} unchanged, {self.failed} failed{skipped}; "
            f"{self.chunks_embedded} chunks embedded in {self.seconds:.1f} s ({rate:.1f} chunks/s)"
            f"{ocr}"
        ]
        lines += [f"  failed: {f.reason or f.path}" for f in self.failures]
        lines += [f"  skipped: {f.reason or f.path}" for f in self.files if f.status == "skipped"]
        return "\n".join(lines)


@dataclass(frozen=True)
class IngestProgress:
    """A progress event: sent after each file is settled and during long embedding passes."""

    files_done: int
    files_total: int
    chunks_done: int  # chunks written so far in this run (embedded or reused)
    chunks_per_s: float
    current: str  # the file being worked on or just finished
    ocr: OcrPage | None = None  # set on the event sent as each page is read by OCR


@dataclass(frozen=True)
class DocumentInfo:
    doc_id: str
    source: str
    title: str
    format: str
    chunks: int
    size_bytes: int
    ingested_at: float  # epoch seconds
    seconds: float  # time its last ingest took


@dataclass(frozen=True)
class SearchHit:
    """One dense search result; ``score`` is cosine relevance (1 - cosine distance)."""

    doc: Document
    score: float
    rank: int  # 1-based

    @property
    def chunk_id(self) -> str:
        return str(self.doc.metadata.get("chunk_id", ""))
