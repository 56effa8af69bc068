"""The document index: incremental, idempotent ingestion into Chroma (reads and dense search:
:mod:`rag.store.reader`).

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
import threading
import time
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

from ingest import IngestError, ParseLimits, chunk_units
from ingest.errors import NotADocumentError
from ingest.isolation import ParseOutcome, ParseRequest, get_parser_pool
from ingest.limits import check_size
from ingest.records import indexed_text
from rag.errors import RagError, StoreError
from rag.settings import Settings
from rag.store.clients import delete_collection, mark_written
from rag.store.embeddings import LocalEmbeddings
from rag.store.ingest_run import (
    ParseJob,
    PreparedFile,
    ProgressEmitter,
    WorkItem,
    chunking_signature,
    ocr_options,
    ocr_signature,
    parse_limits,
)
from rag.store.reader import IndexReader, batched
from rag.store.results import FileResult, IngestReport, ProgressCallback
from rag.store.sources import chunk_ids, document_id, place_in, source_key, walk_paths

# Registry records need a vector to live in Chroma; they are never searched.
_REGISTRY_VECTOR = [0.0]


class DocumentIndex(IndexReader):
    """One Chroma collection of chunks plus its document registry: reads (see
    :class:`rag.store.reader.IndexReader`), ingestion and removal."""

    def __init__(
        self,
        settings: Settings | None = None,
        collection: str | None = None,
        *,
        embeddings: LocalEmbeddings | None = None,
        create: bool = True,
    ) -> None:
        self._write_lock = threading.Lock()  # one ingest/delete at a time per index
        super().__init__(settings, collection, embeddings=embeddings, create=create)

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
                WorkItem(
                    source=source_key(path),
                    read=path.read_bytes,
                    size=lambda p=path: p.stat().st_size,
                    skip_reason=skip_reason,
                    place=place_in(path, folders),
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
        item = WorkItem(source=name, read=lambda: data, size=lambda: len(data))
        return self._ingest([item], progress, force)

    def _ingest(
        self, items: list[WorkItem], callback: ProgressCallback | None, force: bool
    ) -> IngestReport:
        """Read, parse (in the worker processes, a few files ahead), chunk, embed, commit.

        A file that fails (unreadable, over a limit, killed parser) is reported with its reason
        and the batch goes on; files already committed stay committed whatever comes after.
        """
        started = time.perf_counter()
        unique: dict[str, WorkItem] = {}
        for item in items:  # the same file named twice is ingested once
            unique.setdefault(item.source, item)
        work = [ParseJob(position, item) for position, item in enumerate(unique.values())]
        results: list[FileResult | None] = [None] * len(work)
        progress = ProgressEmitter(callback, len(work))
        pending: list[PreparedFile] = []
        limits = parse_limits(self.settings)
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
                        progress.settled()
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
        return chunking_signature(self.settings, self.embeddings.model_name)

    def _read(self, job: ParseJob, limits: ParseLimits, force: bool) -> ParseRequest | None:
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
            and (not record.get("ocr_pages") or record.get("ocr") == ocr_signature(self.settings))
        ):
            job.result = FileResult(
                item.source,
                "unchanged",
                chunks=int(record.get("chunks", 0)),
                seconds=time.perf_counter() - job.started,
                doc_id=document_id(item.source),
            )
            return None
        return ParseRequest(data, item.source, limits, ocr_options(self.settings))

    def _prepare(self, job: ParseJob, parsed: ParseOutcome | None, force: bool) -> PreparedFile:
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
        prepared = PreparedFile(
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
        pending: list[PreparedFile],
        results: list[FileResult | None],
        progress: ProgressEmitter,
        force: bool,
    ) -> None:
        """Embed what the pending files still need in one pass, then commit them one by one."""
        needed: dict[str, str] = {}  # content_hash -> text, each distinct text embedded once
        first_owner: dict[str, PreparedFile] = {}
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
            progress.committed(prepared.source, len(prepared.add), prepared.embedded)

    def _embed_texts(
        self, texts: list[str], progress: ProgressEmitter, current: str
    ) -> list[list[float]]:
        if not texts:
            return []
        # Sorted globally so every slice is a run of similar lengths (least padding); slices
        # keep the progress bar moving on a large file.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        slice_size = max(self.embeddings.batch_size * 2, 64)
        vectors: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), slice_size):
            part = order[start : start + slice_size]
            for index, vector in zip(
                part, self.embeddings.embed_documents([texts[i] for i in part]), strict=True
            ):
                vectors[index] = vector
            progress.embedded(len(part), current)
        return vectors

    def _commit(self, prepared: PreparedFile) -> None:
        """Write chunks, then drop stale ones, then the registry record (the commit marker)."""
        batch = self._max_batch()
        try:
            for part in batched(prepared.add, batch):
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
            for part in batched(prepared.delete_ids, batch):
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
                        "ocr": ocr_signature(self.settings),
                    }
                ],
            )
        except Exception as exc:
            raise StoreError(f"writing {prepared.source} to {self.name!r} failed: {exc}") from exc
        finally:
            mark_written(self.settings)  # even a partial write changes what others must see

    def _max_batch(self) -> int:
        try:
            return max(1, min(self.client.get_max_batch_size(), 5000))
        except Exception:  # older servers do not report it; Chroma's documented floor
            return 1000

    # -- removal -----------------------------------------------------------------------------
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
                for part in batched(sorted(stored), self._max_batch()):
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
