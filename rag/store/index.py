"""The document index: incremental, idempotent ingestion into Chroma, and dense search.

Embedding is almost all of the ingest time, so the index embeds as little as it can:

* an unchanged file (same bytes, same chunking) is skipped before parsing;
* chunk ids are derived from content (``{doc_id}-{content_hash}-{occurrence}``), so a changed
  file only embeds the chunks that are new, deletes the ones that are gone and keeps the rest;
* a new chunk whose text is already stored anywhere in the collection (the same file under
  another name, a boilerplate paragraph) copies the stored vector instead of embedding again;
* chunks of several files are embedded together, sorted by length, in large batches.

Each collection ``name`` has a companion ``name__docs`` in the same store holding one record
per document (source, file hash, title...). The record is written after the document's chunks:
it is the commit marker. A crash mid-file leaves chunks without a current record, and the next
run diffs that document again, so nothing is duplicated and the file finishes.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from langchain_core.documents import Document

from ingest import IngestError, ParseLimits, chunk_units
from ingest.errors import NotADocumentError
from ingest.isolation import ParseOutcome, ParseRequest, get_parser_pool
from ingest.limits import check_size
from ingest.ocr import OcrOptions, OcrPage
from ingest.records import CHUNKER_VERSION, indexed_text
from rag.errors import ConfigError, RagError, StoreError
from rag.settings import Settings, get_settings
from rag.store.clients import (
    REGISTRY_SUFFIX,
    collection_metadata,
    delete_collection,
    get_client,
    mark_written,
    open_collection,
    write_stamp,
)
from rag.store.embeddings import LocalEmbeddings, get_embeddings

if TYPE_CHECKING:
    from langchain_chroma import Chroma

# "skipped": not a document we read (binary data) or passed over by the folder walk (hidden,
# the index's own folder...); listed with its reason, but not an error of the run.
FileStatus = Literal["ingested", "unchanged", "failed", "skipped"]
ProgressCallback = Callable[["IngestProgress"], None]

# Registry records need a vector to live in Chroma; they are never searched.
_REGISTRY_VECTOR = [0.0]
# Chroma's error when this process's view of an on-disk store is stale (chroma-core/chroma#3792).
_STALE_VIEW = "Error finding id"
_STALE_READ_RETRIES = 3
T = TypeVar("T")


# -- results ---------------------------------------------------------------------------------
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


# -- ids -------------------------------------------------------------------------------------
def source_key(path: Path) -> str:
    """How a file is named in the index: relative to the working folder when inside it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def document_id(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def chunk_ids(doc_id: str, chunks: Sequence[Document]) -> list[str]:
    """Content-derived ids; the occurrence number tells identical chunks of a file apart."""
    seen: dict[str, int] = {}
    ids = []
    for chunk in chunks:
        content_hash = chunk.metadata["content_hash"]
        occurrence = seen.get(content_hash, 0)
        seen[content_hash] = occurrence + 1
        ids.append(f"{doc_id}-{content_hash}-{occurrence}")
    return ids


def walk_paths(
    paths: Iterable[Path | str], exclude: Iterable[Path] = ()
) -> list[tuple[Path, str]]:
    """Every file to report on: ``(path, "")`` to read, ``(path, reason)`` when passed over.

    Files named directly are read whatever their name (a missing one fails later with its
    reason). Folders are walked recursively and sorted; every regular file in them is read,
    and the parser decides by content what it is. Passed over, each listed with its reason:
    hidden files and folders (".git", ".env", ".DS_Store": tool state and secrets, not
    documents; a hidden folder is one entry with its file count), the folders in ``exclude``
    (the index's own folder), symbolic links to folders (they can loop), pipes, sockets and
    devices (reading a pipe would block), broken links and folders that cannot be read.
    """
    excluded = {Path(p).resolve() for p in exclude}
    found: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(_walk_folder(path, excluded)))
        else:
            found.append((path, ""))
    return found


def _place_in(path: Path, folders: Sequence[Path]) -> str:
    """``path`` inside the first of ``folders`` that holds it ("pkg/data/meta.json"), else its
    name: the folders a file sits in often say what a data file is when nothing inside does."""
    resolved = path.resolve()
    for folder in folders:
        if resolved.is_relative_to(folder):
            return resolved.relative_to(folder).as_posix()
    return path.name


def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """The files :func:`walk_paths` would read (the passed-over ones left out)."""
    return [path for path, reason in walk_paths(paths) if not reason]


def _walk_folder(folder: Path, excluded: set[Path]) -> Iterator[tuple[Path, str]]:
    unreadable: list[OSError] = []
    for root, folders, files in os.walk(folder, onerror=unreadable.append):
        here = Path(root)
        kept = []
        for name in folders:
            reason = _passed_over_folder(here / name, excluded)
            if reason:
                yield here / name, reason
            else:
                kept.append(name)
        folders[:] = kept  # os.walk descends only into what is left here
        for name in files:
            yield here / name, _passed_over_file(here / name)
    for error in unreadable:
        yield Path(error.filename), f"cannot read folder: {error.strerror or error}"


def _passed_over_folder(path: Path, excluded: set[Path]) -> str:
    if path.is_symlink():
        return "symbolic link to a folder: not followed (links can loop)"
    if path.name.startswith("."):
        count = sum(len(files) for _, _, files in os.walk(path))
        return f"hidden folder: not searched ({count} files inside)"
    if path.resolve() in excluded:
        return "the index's own folder: not searched"
    return ""


def _passed_over_file(path: Path) -> str:
    if path.name.startswith("."):
        return "hidden file: not read (name it directly to ingest it)"
    if path.is_symlink() and not path.exists():
        return "broken symbolic link"
    if not path.is_file():
        return "not a regular file (a pipe, socket or device): not read"
    return ""


# -- work items ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Item:
    source: str
    read: Callable[[], bytes]
    size: Callable[[], int]
    skip_reason: str = ""  # passed over by the folder walk: reported, never read
    place: str = ""  # the file's path inside the folder it was found in (its name otherwise)


@dataclass
class _Job:
    """A file of a run on its way through the parser workers."""

    position: int
    item: _Item
    started: float = 0.0
    file_hash: str = ""
    size: int = 0
    result: FileResult | None = None  # settled without a parse (skipped, unchanged)


@dataclass
class _Prepared:
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


class _Progress:
    def __init__(self, callback: ProgressCallback | None, files_total: int) -> None:
        self.callback = callback
        self.files_total = files_total
        self.files_done = 0
        self.chunks_done = 0
        self.started = time.perf_counter()

    def emit(self, current: str, ocr: OcrPage | None = None) -> None:
        if self.callback is None:
            return
        elapsed = time.perf_counter() - self.started
        self.callback(
            IngestProgress(
                files_done=self.files_done,
                files_total=self.files_total,
                chunks_done=self.chunks_done,
                chunks_per_s=self.chunks_done / elapsed if elapsed > 0 else 0.0,
                current=current,
                ocr=ocr,
            )
        )


def _batched(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- the index -------------------------------------------------------------------------------
class DocumentIndex:
    """One Chroma collection of chunks plus its document registry."""

    def __init__(
        self,
        settings: Settings | None = None,
        collection: str | None = None,
        *,
        embeddings: LocalEmbeddings | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.name = collection or self.settings.store.collection
        self.embeddings = embeddings or get_embeddings(self.settings)
        self._write_lock = threading.Lock()  # one ingest/delete at a time per index
        self._version: tuple[str, str] | None = None  # (write stamp, version) of version()
        self._open(get_client(self.settings))

    def _open(self, client: Any) -> None:
        self._store_client = client  # what the store handed out (self.client may be wrapped)
        self.client = client
        self.collection = open_collection(client, self.name, self.embeddings)
        try:
            self.registry = client.get_or_create_collection(
                self.name + REGISTRY_SUFFIX,
                embedding_function=None,  # type: ignore[arg-type]
            )
        except Exception as exc:
            raise StoreError(f"cannot open the document registry of {self.name!r}: {exc}") from exc
        self.__dict__.pop("langchain_store", None)

    def refresh(self) -> None:
        """Re-open the collection if another process wrote to the on-disk store since.

        Called before every read and write: ``get_client`` hands out a fresh client when the
        store's write marker changed, and this index then follows it.
        """
        client = get_client(self.settings)
        if client is not self._store_client:
            self._open(client)

    # -- ingestion ---------------------------------------------------------------------------
    def ingest_paths(
        self,
        paths: Iterable[Path | str],
        progress: ProgressCallback | None = None,
        force: bool = False,
    ) -> IngestReport:
        """Ingest files and folders; a bad file is reported and skipped, the rest go on.

        Every file found is in the report: one the walk passes over (see :func:`walk_paths`)
        and one that is no document (binary data) as "skipped" with the reason.
        """
        store = self.settings.store
        own_folder = [store.path] if store.mode == "disk" else []
        paths = [Path(p) for p in paths]
        folders = [p.resolve() for p in paths if p.is_dir()]
        items = []
        for path, skip_reason in walk_paths(paths, exclude=own_folder):
            items.append(
                _Item(
                    source=source_key(path),
                    read=path.read_bytes,
                    size=lambda p=path: p.stat().st_size,
                    skip_reason=skip_reason,
                    place=_place_in(path, folders),
                )
            )
        return self._ingest(items, progress, force)

    def ingest_bytes(
        self,
        data: bytes,
        name: str,
        progress: ProgressCallback | None = None,
        force: bool = False,
    ) -> IngestReport:
        """Ingest an upload held in memory; ``name`` (already sanitised) is its source key."""
        item = _Item(source=name, read=lambda: data, size=lambda: len(data))
        return self._ingest([item], progress, force)

    def _ingest(
        self, items: list[_Item], callback: ProgressCallback | None, force: bool
    ) -> IngestReport:
        """Read, parse (in the worker processes, a few files ahead), chunk, embed, commit.

        A file that fails (unreadable, over a limit, killed parser) is reported with its reason
        and the batch goes on; files already committed stay committed whatever comes after.
        """
        started = time.perf_counter()
        unique: dict[str, _Item] = {}
        for item in items:  # the same file named twice is ingested once
            unique.setdefault(item.source, item)
        work = [_Job(position, item) for position, item in enumerate(unique.values())]
        results: list[FileResult | None] = [None] * len(work)
        progress = _Progress(callback, len(work))
        pending: list[_Prepared] = []
        limits = self._parse_limits()
        pool = get_parser_pool(self.settings.ingest.parse_workers)
        with self._write_lock:
            self.refresh()
            parses = pool.parse_in_order(work, lambda job: self._read(job, limits, force),
                                         lambda page: progress.emit(page.file, ocr=page))
            with closing(parses):
                for job, outcome in parses:
                    progress.emit(job.item.source)
                    try:
                        result = job.result or self._prepare(job, outcome, force)
                    except IngestError as exc:
                        result = FileResult(
                            job.item.source,
                            "skipped" if isinstance(exc, NotADocumentError) else "failed",
                            reason=str(exc),
                            seconds=time.perf_counter() - job.started,
                        )
                    if isinstance(result, FileResult):
                        results[job.position] = result
                        progress.files_done += 1
                        continue
                    pending.append(result)
                    added = sum(len(p.add) - p.reused for p in pending)
                    if added >= self.settings.ingest.flush_chunks:
                        self._flush(pending, results, progress, force)
                        pending = []
            if pending:
                self._flush(pending, results, progress, force)
        progress.emit(work[-1].item.source if work else "")
        final = tuple(r for r in results if r is not None)
        return IngestReport(files=final, seconds=time.perf_counter() - started)

    def _chunking_signature(self) -> str:
        # Recorded per document: new chunk sizes (or a new model) make a file "changed".
        chunking = self.settings.chunking
        return (f"{self.embeddings.model_name}|{chunking.chunk_tokens}|{chunking.overlap_tokens}"
                f"|{CHUNKER_VERSION}")

    def _parse_limits(self) -> ParseLimits:
        limits = self.settings.ingest
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

    def _ocr_options(self) -> OcrOptions | None:
        ingest = self.settings.ingest
        return OcrOptions(tuple(ingest.ocr_languages), ingest.ocr_dpi) if ingest.ocr else None

    def _ocr_signature(self) -> str:
        ocr = self._ocr_options()
        return ocr.signature() if ocr else "off"

    def _read(self, job: _Job, limits: ParseLimits, force: bool) -> ParseRequest | None:
        """What the worker should parse for ``job``; None when the file needs no parse (passed
        over by the folder walk, or unchanged), with ``job.result`` saying so."""
        item = job.item
        job.started = time.perf_counter()
        if item.skip_reason:
            job.result = FileResult(item.source, "skipped",
                                    reason=f"{item.source}: {item.skip_reason}")
            return None
        try:
            check_size(item.size(), item.source, limits)  # before reading a huge file
            data = item.read()
        except OSError as exc:
            raise IngestError(item.source, exc.strerror or str(exc)) from exc
        job.file_hash = hashlib.sha256(data).hexdigest()
        job.size = len(data)
        record = self._registry_record(document_id(item.source))
        if (
            not force
            and record is not None
            and record.get("file_hash") == job.file_hash
            and record.get("chunking") == self._chunking_signature()
            # A file read by OCR is read again only when the OCR settings change.
            and (not record.get("ocr_pages") or record.get("ocr") == self._ocr_signature())
        ):
            job.result = FileResult(
                item.source,
                "unchanged",
                chunks=int(record.get("chunks", 0)),
                seconds=time.perf_counter() - job.started,
                doc_id=document_id(item.source),
            )
            return None
        return ParseRequest(data, item.source, limits, self._ocr_options())

    def _prepare(self, job: _Job, parsed: ParseOutcome | None, force: bool) -> _Prepared:
        """Chunk a parsed file and diff it against what the collection holds."""
        item = job.item
        if isinstance(parsed, IngestError):
            raise parsed
        assert parsed is not None
        doc_id = document_id(item.source)
        chunks = chunk_units(
            parsed,
            source=item.source,
            place=item.place,
            doc_id=doc_id,
            length_function=self.embeddings.count_tokens,
            chunk_tokens=self.settings.chunking.chunk_tokens,
            overlap_tokens=self.settings.chunking.overlap_tokens,
        )
        if not chunks:
            raise IngestError(item.source, "no text found to index")
        for chunk, chunk_id in zip(chunks, chunk_ids(doc_id, chunks), strict=True):
            chunk.metadata["chunk_id"] = chunk_id
            chunk.id = chunk_id

        existing = self._stored_metadatas(doc_id)
        wanted = {c.id for c in chunks}
        add = [c for c in chunks if force or c.id not in existing]
        # Kept chunks may have moved (new chunk_index, page, section): fix metadata only.
        kept = [c for c in chunks if not force and c.id in existing]
        changed = [c for c in kept if existing[c.id] != c.metadata]
        prepared = _Prepared(
            position=job.position,
            source=item.source,
            doc_id=doc_id,
            file_hash=job.file_hash,
            size=job.size,
            format=parsed.format,
            title=parsed.title,
            chunks=chunks,
            add=add,
            update_ids=[str(c.id) for c in changed],
            update_metadatas=[dict(c.metadata) for c in changed],
            delete_ids=sorted(set(existing) - wanted),
            started=job.started,
            warnings=parsed.warnings,
            ocr_pages=parsed.ocr_pages,
        )
        if not force:
            prepared.vectors = self._stored_vectors({c.metadata["content_hash"] for c in add})
            prepared.reused = sum(1 for c in add if c.metadata["content_hash"] in prepared.vectors)
        return prepared

    def _flush(
        self,
        pending: list[_Prepared],
        results: list[FileResult | None],
        progress: _Progress,
        force: bool,
    ) -> None:
        """Embed what the pending files still need in one pass, then commit them one by one."""
        needed: dict[str, str] = {}  # content_hash -> text, each distinct text embedded once
        first_owner: dict[str, _Prepared] = {}
        for prepared in pending:
            for chunk in prepared.add:
                content_hash = chunk.metadata["content_hash"]
                if content_hash in prepared.vectors or content_hash in needed:
                    continue
                # The header (title, section or record) is embedded with the text it heads.
                needed[content_hash] = indexed_text(chunk.page_content, chunk.metadata)
                first_owner[content_hash] = prepared
        embed_started = time.perf_counter()
        computed = self._embed_texts(list(needed.values()), progress, pending[0].source)
        embed_seconds = time.perf_counter() - embed_started
        by_hash = dict(zip(needed, computed, strict=True))
        for owner in first_owner.values():
            owner.embedded += 1
        total_embedded = max(len(needed), 1)
        for prepared in pending:
            for chunk in prepared.add:
                content_hash = chunk.metadata["content_hash"]
                if content_hash not in prepared.vectors:
                    prepared.vectors[content_hash] = by_hash[content_hash]
            self._commit(prepared)
            seconds = time.perf_counter() - prepared.started
            if len(pending) > 1:  # the shared embedding pass overlapped the files' clocks
                shared = embed_seconds * (1 - prepared.embedded / total_embedded)
                seconds = max(seconds - shared, 0.0)
            results[prepared.position] = FileResult(
                prepared.source,
                "ingested",
                chunks=len(prepared.chunks),
                embedded=prepared.embedded,
                reused=len(prepared.add) - prepared.embedded,
                seconds=seconds,
                doc_id=prepared.doc_id,
                warnings=prepared.warnings,
                ocr_pages=prepared.ocr_pages,
            )
            progress.files_done += 1
            progress.chunks_done += len(prepared.add)
            progress.emit(prepared.source)

    def _embed_texts(
        self, texts: list[str], progress: _Progress, current: str
    ) -> list[list[float]]:
        if not texts:
            return []
        # Sorted globally so every slice is a run of similar lengths (least padding); slices
        # keep the progress bar moving on a large file.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        slice_size = max(self.embeddings.batch_size * 2, 64)
        vectors: list[list[float]] = [[] for _ in texts]
        done_before = progress.chunks_done
        for start in range(0, len(order), slice_size):
            part = order[start : start + slice_size]
            for index, vector in zip(
                part, self.embeddings.embed_documents([texts[i] for i in part]), strict=True
            ):
                vectors[index] = vector
            progress.chunks_done = done_before + start + len(part)
            progress.emit(current)
        progress.chunks_done = done_before  # files count their chunks when committed
        return vectors

    def _commit(self, prepared: _Prepared) -> None:
        """Write chunks, then drop stale ones, then the registry record (the commit marker)."""
        batch = self._max_batch()
        try:
            for part in _batched(prepared.add, batch):
                self.collection.upsert(
                    ids=[str(c.id) for c in part],
                    embeddings=[prepared.vectors[c.metadata["content_hash"]] for c in part],
                    documents=[c.page_content for c in part],
                    metadatas=[dict(c.metadata) for c in part],
                )
            for start in range(0, len(prepared.update_ids), batch):
                self.collection.update(
                    ids=prepared.update_ids[start : start + batch],
                    metadatas=prepared.update_metadatas[start : start + batch],
                )
            for part in _batched(prepared.delete_ids, batch):
                self.collection.delete(ids=list(part))
            self.registry.upsert(
                ids=[prepared.doc_id],
                embeddings=[_REGISTRY_VECTOR],
                documents=[prepared.source],
                metadatas=[
                    {
                        "source": prepared.source,
                        "file_hash": prepared.file_hash,
                        "chunking": self._chunking_signature(),
                        "format": prepared.format,
                        "title": prepared.title,
                        "chunks": len(prepared.chunks),
                        "size_bytes": prepared.size,
                        "ingested_at": time.time(),
                        "seconds": time.perf_counter() - prepared.started,
                        "ocr_pages": prepared.ocr_pages,
                        "ocr": self._ocr_signature(),
                    }
                ],
            )
        except Exception as exc:
            raise StoreError(f"writing {prepared.source} to {self.name!r} failed: {exc}") from exc
        finally:
            mark_written(self.settings)  # even a partial write changes what others must see

    # -- store reads -------------------------------------------------------------------------
    def _max_batch(self) -> int:
        try:
            return max(1, min(self.client.get_max_batch_size(), 5000))
        except Exception:  # older servers do not report it; Chroma's documented floor
            return 1000

    def _registry_record(self, doc_id: str) -> dict[str, Any] | None:
        found = self._get(self.registry, ids=[doc_id], include=["metadatas"])
        metadatas = found.get("metadatas") or []
        return dict(metadatas[0]) if metadatas else None

    def _stored_metadatas(self, doc_id: str) -> dict[str, dict[str, Any]]:
        found = self._get(self.collection, where={"doc_id": doc_id}, include=["metadatas"])
        return {
            chunk_id: dict(metadata or {})
            for chunk_id, metadata in zip(found["ids"], found["metadatas"] or [], strict=True)
        }

    def _stored_vectors(self, hashes: set[str]) -> dict[str, list[float]]:
        """Vectors of stored chunks with these texts, so they need not be embedded again."""
        vectors: dict[str, list[float]] = {}
        for part in _batched(sorted(hashes), 500):
            found = self._get(
                self.collection,
                where={"content_hash": {"$in": list(part)}},
                include=["metadatas", "embeddings"],
            )
            embeddings = found.get("embeddings")
            if embeddings is None:
                continue
            for metadata, vector in zip(found["metadatas"] or [], embeddings, strict=True):
                vectors.setdefault(str(metadata["content_hash"]), [float(x) for x in vector])
        return vectors

    def _get(self, collection: Any, **kwargs: Any) -> dict[str, Any]:
        registry = collection is self.registry
        return self.read("reading collection", lambda c: dict(c.get(**kwargs)), registry=registry)

    def read(self, what: str, op: Callable[[Any], T], *, registry: bool = False) -> T:
        """``op(collection)`` (or the registry), a read, with one error message for the user.

        Every read of the store goes through here: on disk, another process may write between
        our marker check and the read, and Chroma then fails with a stale view ("Error finding
        id"; seen in full test runs with two CLI ingests at once). Such a read is retried on a
        freshly opened client; any other error is raised at once.
        """
        for attempt in range(_STALE_READ_RETRIES + 1):
            collection = self.registry if registry else self.collection
            try:
                return op(collection)
            except Exception as exc:  # chromadb raises many types
                stale = self.settings.store.mode == "disk" and _STALE_VIEW in str(exc)
                if not stale or attempt == _STALE_READ_RETRIES:
                    raise StoreError(f"{what} {collection.name!r} failed: {exc}") from exc
                from rag.store.clients import reopen_disk_client

                time.sleep(0.05 * (attempt + 1))
                self._open(reopen_disk_client(self.settings))
        raise AssertionError("unreachable")

    # -- documents ---------------------------------------------------------------------------
    def list_documents(self) -> list[DocumentInfo]:
        self.refresh()
        found = self._get(self.registry, include=["metadatas"])
        documents = [
            _document_info(doc_id, metadata or {})
            for doc_id, metadata in zip(found["ids"], found["metadatas"] or [], strict=True)
        ]
        return sorted(documents, key=lambda d: d.source)

    def find_document(self, doc: str) -> str | None:
        """The doc_id of ``doc`` given as a doc_id, a source key or a path; None if unknown."""
        self.refresh()
        if self._registry_record(doc) is not None:
            return doc
        for source in dict.fromkeys((doc, source_key(Path(doc)))):
            found = self._get(self.registry, where={"source": source}, include=[])
            if found["ids"]:
                return str(found["ids"][0])
            found = self._get(self.collection, where={"source": source}, include=[], limit=1)
            if found["ids"]:  # chunks of an unfinished ingest, without a registry record
                return document_id(source)
        found = self._get(self.collection, where={"doc_id": doc}, include=[], limit=1)
        return doc if found["ids"] else None

    def delete(self, doc: str) -> int:
        """Remove a document (by doc_id, source key or path); returns its number of chunks."""
        with self._write_lock:
            doc_id = self.find_document(doc)
            if doc_id is None:
                raise RagError(f"no document {doc!r} in collection {self.name}")
            stored = self._stored_metadatas(doc_id)
            try:
                # The record goes first, the mirror of ingest: cut short here, the remaining
                # chunks have no record, so the next ingest re-diffs the file (and the next
                # delete finds them). Record last would mark a half-deleted file "unchanged".
                self.registry.delete(ids=[doc_id])
                for part in _batched(sorted(stored), self._max_batch()):
                    self.collection.delete(ids=list(part))
            except Exception as exc:
                raise StoreError(f"deleting {doc!r} from {self.name!r} failed: {exc}") from exc
            finally:
                mark_written(self.settings)
            # Saved keyword-index snapshots hold the document's text: none may outlive it.
            from rag.store.bm25 import remove_snapshots

            remove_snapshots(self.settings, str(self.collection.id))
            return len(stored)

    def drop(self) -> None:
        """Delete the whole collection and its registry; the index is unusable afterwards."""
        with self._write_lock:
            self.refresh()
            try:
                delete_collection(self.client, self.name)
            finally:
                mark_written(self.settings)

    def get_chunks(self, doc_id: str) -> list[Document]:
        """The chunks of one document in reading order."""
        self.refresh()
        found = self._get(
            self.collection, where={"doc_id": doc_id}, include=["documents", "metadatas"]
        )
        chunks = _documents(found)
        return sorted(chunks, key=lambda d: int(d.metadata.get("chunk_index", 0)))

    def iter_chunks(self, batch: int = 1000) -> Iterator[Document]:
        """Every chunk with its metadata (``chunk_id`` included), a page at a time."""
        self.refresh()
        offset = 0
        while True:
            found = self._get(
                self.collection, include=["documents", "metadatas"], limit=batch, offset=offset
            )
            if not found["ids"]:
                return
            yield from _documents(found)
            offset += len(found["ids"])

    def count(self) -> int:
        """Number of chunks in the collection."""
        self.refresh()
        return self.read("counting collection", lambda c: int(c.count()))

    def version(self) -> str:
        """Changes whenever a document is added, changed or removed (cache key for BM25).

        Computed from the whole registry, which takes longer than the keyword search it keys
        (at 10k chunks, 484 documents: 27 ms against a BM25 p50 of 14.5 ms without it; at 92k
        chunks BM25 took 297 ms per query while bm25s scores in 6 ms). So it is remembered
        under the store's write stamp and recomputed only after a write; a Chroma server
        gives no stamp and is read every time.
        """
        self.refresh()
        stamp = write_stamp(self.settings)
        if stamp is not None:
            stamp = f"{self.collection.id}:{stamp}"
            remembered = self._version
            if remembered is not None and remembered[0] == stamp:
                return remembered[1]
        value = self._read_version()
        if stamp is not None:
            self._version = (stamp, value)
        return value

    def _read_version(self) -> str:
        found = self._get(self.registry, include=["metadatas"])
        entries = sorted(
            f"{doc_id}:{(metadata or {}).get('file_hash', '')}:{(metadata or {}).get('chunking')}"
            for doc_id, metadata in zip(found["ids"], found["metadatas"] or [], strict=True)
        )
        digest = hashlib.sha256(self.name.encode("utf-8"))
        for entry in entries:
            digest.update(entry.encode("utf-8") + b"\n")
        return digest.hexdigest()[:16]

    # -- search ------------------------------------------------------------------------------
    def search(
        self, query: str, k: int = 4, where: dict[str, Any] | None = None
    ) -> list[SearchHit]:
        """Dense search: the ``k`` chunks closest to ``query``, best first."""
        if k < 1:
            raise ConfigError(f"k must be at least 1, got {k}")
        self.refresh()
        available = self.count()
        if available == 0:
            return []
        vector = self.embeddings.embed_query(query)
        found = self.read("searching", lambda c: c.query(
            query_embeddings=[vector],
            n_results=min(k, available),
            where=where,
            include=["documents", "metadatas", "distances"],
        ))
        page = {
            "ids": found["ids"][0],
            "documents": (found["documents"] or [[]])[0],
            "metadatas": (found["metadatas"] or [[]])[0],
        }
        distances = (found["distances"] or [[]])[0]
        from rag.store.bm25 import cite_record

        return [
            SearchHit(doc=cite_record(doc, query), score=1.0 - float(distance), rank=rank)
            for rank, (doc, distance) in enumerate(
                zip(_documents(page), distances, strict=True), start=1
            )
        ]

    @cached_property
    def langchain_store(self) -> Chroma:
        """The same collection as a LangChain vector store (MMR, retrievers) with our model."""
        from langchain_chroma import Chroma

        return Chroma(
            client=self.client,
            collection_name=self.name,
            embedding_function=self.embeddings,
            collection_metadata=collection_metadata(self.embeddings),
        )


def _documents(found: dict[str, Any]) -> list[Document]:
    texts = found.get("documents") or [""] * len(found["ids"])
    metadatas = found.get("metadatas") or [{}] * len(found["ids"])
    return [
        Document(
            id=chunk_id,
            page_content=text or "",
            metadata={**(metadata or {}), "chunk_id": chunk_id},
        )
        for chunk_id, text, metadata in zip(found["ids"], texts, metadatas, strict=True)
    ]


def _document_info(doc_id: str, metadata: dict[str, Any]) -> DocumentInfo:
    return DocumentInfo(
        doc_id=doc_id,
        source=str(metadata.get("source", "")),
        title=str(metadata.get("title", "")),
        format=str(metadata.get("format", "")),
        chunks=int(metadata.get("chunks", 0)),
        size_bytes=int(metadata.get("size_bytes", 0)),
        ingested_at=float(metadata.get("ingested_at", 0.0)),
        seconds=float(metadata.get("seconds", 0.0)),
    )
