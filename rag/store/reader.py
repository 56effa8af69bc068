"""Reading the index: one Chroma collection of chunks and its document registry, opened
through the store's client, followed when another process writes, and read with retries on a
stale view; listing documents, their chunks, the index version, and dense search.

:class:`rag.store.index.DocumentIndex` adds ingestion and deletion on top.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from chromadb.errors import NotFoundError
from langchain_core.documents import Document

from rag.errors import ConfigError, MissingCollectionError, StoreError
from rag.settings import Settings, get_settings
from rag.store.clients import (
    REGISTRY_SUFFIX,
    collection_metadata,
    get_client,
    open_collection,
    write_stamp,
)
from rag.store.embeddings import LocalEmbeddings, get_embeddings
from rag.store.results import DocumentInfo, SearchHit
from rag.store.sources import document_id, source_key

if TYPE_CHECKING:
    from langchain_chroma import Chroma

# Chroma's error when this process's view of an on-disk store is stale (chroma-core/chroma#3792).
_STALE_VIEW = "Error finding id"
_STALE_READ_RETRIES = 3
T = TypeVar("T")


def batched(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class IndexReader:
    """One Chroma collection of chunks plus its document registry, for reading."""

    def __init__(
        self,
        settings: Settings | None = None,
        collection: str | None = None,
        *,
        embeddings: LocalEmbeddings | None = None,
        create: bool = True,
    ) -> None:
        """``create=False`` opens an existing collection only (MissingCollectionError if
        there is none): for a reader that must not bring a deleted collection back."""
        self.settings = settings or get_settings()
        self._create = create
        self.name = collection or self.settings.store.collection
        self.embeddings = embeddings or get_embeddings(self.settings)
        self._version: tuple[str, str] | None = None  # (write stamp, version) of version()
        self._open(get_client(self.settings))

    def _open(self, client: Any) -> None:
        self._store_client = client  # what the store handed out (self.client may be wrapped)
        self.client = client
        self.collection = open_collection(client, self.name, self.embeddings, create=self._create)
        get = client.get_or_create_collection if self._create else client.get_collection
        try:
            self.registry = get(self.name + REGISTRY_SUFFIX, embedding_function=None)
        except NotFoundError:  # deleted a moment ago (the registry goes first)
            raise MissingCollectionError(f"there is no collection {self.name!r}") from None
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
        for part in batched(sorted(hashes), 500):
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
