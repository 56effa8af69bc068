"""One ingest run's moving parts around :class:`rag.store.index.DocumentIndex`'s steps: the files
to read, a file on its way through the parser workers, a parsed and diffed file waiting for
its vectors, the progress events, and what the run reads from the settings and records with
each document (parse limits, OCR options, the chunking signature)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
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

    Two threads report: the one embedding (chunks embedded, not yet written) and the one
    committing (files and chunks written); a lock keeps the counts and the events in step.
    """

    def __init__(self, callback: ProgressCallback | None, files_total: int) -> None:
        self.callback = callback
        self.files_total = files_total
        self.files_done = 0
        self.chunks_done = 0  # written: embedded or reused
        self.chunks_embedded = 0  # embedded and not written yet
        self.started = time.perf_counter()
        self._lock = threading.Lock()

    def embedded(self, count: int, current: str) -> None:
        """``count`` more chunks have their vectors."""
        with self._lock:
            self.chunks_embedded += count
            self._emit(current, None)

    def committed(self, source: str, chunks: int, embedded: int) -> None:
        """A file is written: ``chunks`` chunks, ``embedded`` of them counted as embedded."""
        with self._lock:
            self.files_done += 1
            self.chunks_done += chunks
            self.chunks_embedded = max(self.chunks_embedded - embedded, 0)
            self._emit(source, None)

    def settled(self, source: str) -> None:
        """A file is done without a write (failed, skipped, unchanged)."""
        with self._lock:
            self.files_done += 1

    def emit(self, current: str, ocr: OcrPage | None = None) -> None:
        with self._lock:
            self._emit(current, ocr)

    def _emit(self, current: str, ocr: OcrPage | None) -> None:
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


class CommitQueue:
    """Writes prepared files in order on one thread while the caller embeds the next ones.

    Writing (Chroma's upserts) and embedding then overlap. At most two embedding passes wait
    in memory: before queueing a pass, the one before the last must be written. After a failed
    write nothing more is written and the failure is raised to the caller at its next call;
    files written before it stay written.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rag-commit")
        self._passes: list[list[Future[None]]] = []
        self._failure: BaseException | None = None

    def submit_pass(self, writes: list[Callable[[], None]]) -> None:
        while len(self._passes) > 1:
            wait(self._passes.pop(0))
        self._raise()
        self._passes.append([self._pool.submit(self._run, write) for write in writes])

    def _run(self, write: Callable[[], None]) -> None:
        if self._failure is not None:
            return
        try:
            write()
        except BaseException as exc:  # re-raised in the caller's thread
            self._failure = exc

    def _raise(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def close(self, *, raise_failure: bool = True) -> None:
        """Wait for every queued write; then raise a failed write's error (if asked)."""
        self._pool.shutdown(wait=True)
        self._passes.clear()
        if raise_failure:
            self._raise()


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
