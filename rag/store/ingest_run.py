"""One ingest run's moving parts around :class:`rag.store.index.DocumentIndex`'s steps: the files
to read, a file on its way through the parser workers, a parsed and diffed file waiting for
its vectors, the progress events, and what the run reads from the settings and records with
each document (parse limits, OCR options, the chunking signature)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.documents import Document

from ingest import ParseLimits
from ingest.ocr import OcrOptions, OcrPage
from ingest.records import CHUNKER_VERSION
from rag.settings import Settings
from rag.store.results import FileResult, IngestProgress, ProgressCallback


@dataclass(frozen=True)
class WorkItem:
    """A file of a run: the key it is listed under and how to read it."""

    source: str
    read: Callable[[], bytes]
    size: Callable[[], int]
    skip_reason: str = ""  # passed over by the folder walk: reported, never read
    place: str = ""  # the file's path inside the folder it was found in (its name otherwise)


@dataclass
class ParseJob:
    """A file of a run on its way through the parser workers."""

    position: int
    item: WorkItem
    started: float = 0.0
    file_hash: str = ""
    size: int = 0
    result: FileResult | None = None  # settled without a parse (skipped, unchanged)


@dataclass
class PreparedFile:
    """A parsed, chunked and diffed file waiting for its vectors and its commit."""

    position: int
    source: str
    doc_id: str
    file_hash: str
    size: int
    format: str
    title: str
    chunks: list[Document]
    add: list[Document]
    update_ids: list[str]
    update_metadatas: list[dict[str, Any]]
    delete_ids: list[str]
    started: float
    warnings: tuple[str, ...] = ()
    ocr_pages: int = 0
    vectors: dict[str, list[float]] = field(default_factory=dict)  # content_hash -> vector
    reused: int = 0
    embedded: int = 0


class ProgressEmitter:
    """Counts a run's files and chunks and sends them to the caller's callback, if any.

    A chunk counts once it has its vector (embedded, not yet written) and stays counted when
    its file is written (with the chunks whose vectors were reused): the figure never goes back.
    """

    def __init__(self, callback: ProgressCallback | None, files_total: int) -> None:
        self.callback = callback
        self.files_total = files_total
        self.files_done = 0
        self.chunks_done = 0  # written: embedded or reused
        self.chunks_embedded = 0  # embedded and not written yet
        self.started = time.perf_counter()

    def embedded(self, count: int, current: str) -> None:
        """``count`` more chunks have their vectors."""
        self.chunks_embedded += count
        self.emit(current)

    def committed(self, source: str, chunks: int, embedded: int) -> None:
        """A file is written: ``chunks`` chunks, ``embedded`` of them counted as embedded."""
        self.files_done += 1
        self.chunks_done += chunks
        self.chunks_embedded = max(self.chunks_embedded - embedded, 0)
        self.emit(source)

    def settled(self) -> None:
        """A file is done without a write (failed, skipped, unchanged)."""
        self.files_done += 1

    def emit(self, current: str, ocr: OcrPage | None = None) -> None:
        if self.callback is None:
            return
        elapsed = time.perf_counter() - self.started
        done = self.chunks_done + self.chunks_embedded
        self.callback(
            IngestProgress(
                files_done=self.files_done,
                files_total=self.files_total,
                chunks_done=done,
                chunks_per_s=done / elapsed if elapsed > 0 else 0.0,
                current=current,
                ocr=ocr,
            )
        )


def parse_limits(settings: Settings) -> ParseLimits:
    limits = settings.ingest
    return ParseLimits.from_megabytes(
        limits.max_file_mb,
        max_seconds=limits.max_seconds_per_file,
        max_json_depth=limits.max_json_depth,
        max_string_chars=limits.max_string_chars,
        max_memory_mb=limits.max_parse_mb,
        max_units=limits.max_units_per_file,
        max_text_ratio=limits.max_text_ratio,
        max_text_base_chars=limits.max_text_base_chars,
        ocr_seconds_per_page=limits.ocr_seconds_per_page,
        max_ocr_seconds=limits.max_ocr_seconds_per_file,
    )


def ocr_options(settings: Settings) -> OcrOptions | None:
    ingest = settings.ingest
    return OcrOptions(tuple(ingest.ocr_languages), ingest.ocr_dpi) if ingest.ocr else None


def ocr_signature(settings: Settings) -> str:
    ocr = ocr_options(settings)
    return ocr.signature() if ocr else "off"


def chunking_signature(settings: Settings, model_name: str) -> str:
    # Recorded per document: new chunk sizes (or a new model) make a file "changed".
    chunking = settings.chunking
    return f"{model_name}|{chunking.chunk_tokens}|{chunking.overlap_tokens}|{CHUNKER_VERSION}"
