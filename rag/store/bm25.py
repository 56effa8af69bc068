"""Keyword (BM25) ranking over every chunk of a collection, kept in step with the vector index.

Dense retrieval misses exact tokens such as error codes ("E104") and part numbers; BM25 finds
them. The BM25 index is derived data: it is built from ``DocumentIndex.iter_chunks()`` and cached
under the collection's identity and ``DocumentIndex.version()``. Every query asks for the version
(remembered between writes, see there) and rebuilds only when it changed, so documents added,
replaced or deleted by any process (the app, a CLI ingest) never leave stale hits, and repeated
questions never rebuild.

With the on-disk store the built index is also saved under
``settings.cache_dir / "bm25" / "<collection>-<key>"`` so a restart loads it instead of
re-tokenising the corpus.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import re
import shutil
import threading
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
from langchain_core.documents import Document

from ingest.records import indexed_text, record_spans
from rag.errors import StoreError
from rag.settings import Settings, get_settings
from rag.text import open_compound, terms_of, written_literals

_CHUNKS_FILE = "chunks.jsonl"
_MANIFEST_FILE = "manifest.json"

# Bump when the terms (rag/text.py) change: saved snapshots hold terms of the old rules.
TOKENIZER_VERSION = 4


# How far two stemmed tokens may differ and still be one word's forms (see related_terms).
_RELATED_MIN_CHARS = 4
_RELATED_MAX_EXTRA = 3


def related_terms(token: str, terms: Container[str], sorted_terms: Sequence[str]) -> list[str]:
    """``token`` and the stemmed tokens of ``terms`` that are forms of the same word.

    The Snowball stemmer leaves some forms apart: "weigh"/"weight", "delivered"/"delivery"
    ("deliv"/"deliveri"), "longest"/"long". Two tokens count as related when one begins the
    other, the shorter has at least 4 characters and the longer at most 3 more.
    ``sorted_terms`` is ``terms`` sorted, for the tokens that begin with ``token``.
    """
    found = [token] if token in terms else []
    shortest = max(_RELATED_MIN_CHARS, len(token) - _RELATED_MAX_EXTRA)
    found += [token[:n] for n in range(shortest, len(token)) if token[:n] in terms]
    if len(token) >= _RELATED_MIN_CHARS:
        at = bisect.bisect_right(sorted_terms, token)
        while at < len(sorted_terms) and sorted_terms[at].startswith(token):
            if len(sorted_terms[at]) - len(token) <= _RELATED_MAX_EXTRA:
                found.append(sorted_terms[at])
            at += 1
    return found


@dataclass(frozen=True)
class Bm25Hit:
    """One BM25 match: the chunk, its id in the vector store, its raw BM25 score (> 0) and its
    1-based position in the query's whole ranking."""

    chunk_id: str
    doc: Document
    score: float
    rank: int


class Bm25Index:
    """A BM25 index over one snapshot of a collection's chunks (immutable once built)."""

    def __init__(
        self, chunk_ids: list[str], docs: list[Document], retriever: bm25s.BM25 | None
    ) -> None:
        self.chunk_ids = chunk_ids
        self.docs = docs
        # None when no chunk has a single indexable token (bm25s cannot index that).
        self._retriever = retriever
        self._literals: set[str] | None = None
        self._sorted_terms: list[str] | None = None
        self._positions: dict[str, int] | None = None
        self._written_apart: dict[str, bool] = {}  # word -> found open (see writes_apart)

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def has_related_term(self, token: str) -> bool:
        """Whether any chunk contains ``token`` (one term of :func:`rag.text.terms_of`) or
        a form of the same word the stemmer leaves apart ("weigh"/"weight", "deliv"/"deliveri",
        "longest"/"long"): see :func:`related_terms`."""
        if self._retriever is None or not token:
            return False
        if self._sorted_terms is None:  # built on first use, once per snapshot
            self._sorted_terms = sorted(self._retriever.vocab_dict)
        return bool(related_terms(token, self._retriever.vocab_dict, self._sorted_terms))

    @staticmethod
    def holds(token: str, present: set[str]) -> bool:
        """Whether ``present`` (a chunk's tokens) holds ``token`` or another form of its word
        the stemmer leaves apart (see :func:`related_terms`)."""
        return token in present or bool(related_terms(token, present, sorted(present)))

    def open_compound(self, word: str) -> re.Pattern[str] | None:
        """:func:`rag.text.open_compound` of ``word`` against this collection's terms."""
        if self._retriever is None:
            return None
        return open_compound(word, self._retriever.vocab_dict.__contains__)

    def writes_apart(self, word: str) -> bool:
        """Whether some chunk writes ``word``, a closed compound ("codepoint"), as two words
        ("code point"): a library that does holds the word a question asks with. One scan of
        the chunks per word and snapshot, only for a word whose two parts are both terms of the
        collection."""
        key = word.lower()
        found = self._written_apart.get(key)
        if found is None:
            pattern = self.open_compound(key)
            found = pattern is not None and any(pattern.search(_text(d)) for d in self.docs)
            self._written_apart[key] = found
        return found

    def has_literal(self, literal: str) -> bool:
        """Whether any chunk holds ``literal``, a name or code of
        :func:`rag.text.written_literals` ("4.3.0", "HB-2", "session_cookie_age", the "4217" of
        "ISO_4217"), whole (case-insensitive)."""
        if self._literals is None:  # built on first use, once per snapshot
            found: set[str] = set()
            for doc in self.docs:
                found.update(written_literals(_text(doc)))
            self._literals = found
        return literal.lower() in self._literals

    @classmethod
    def build(cls, chunks: Iterable[Document], *, k1: float, b: float) -> Bm25Index:
        """Tokenise and index ``chunks``; each must carry its vector-store id in ``.id``."""
        docs = list(chunks)
        chunk_ids = [_chunk_id(doc) for doc in docs]
        tokens = terms_of([_text(doc) for doc in docs])
        if not any(tokens):
            return cls(chunk_ids, docs, None)
        retriever = bm25s.BM25(k1=k1, b=b)
        retriever.index(tokens, show_progress=False)
        return cls(chunk_ids, docs, retriever)

    def search(self, query: str, k: int, *, also: Iterable[str] = ()) -> list[Bm25Hit]:
        """The ``k`` best chunks sharing at least one term with ``query``, best first, then
        those chunks of ``also`` (ids) that share a term but rank below ``k``, in rank order.

        ``also`` serves fusion: a dense candidate outside BM25's top ``k`` still has a BM25
        score, and counting it as 0 would favour any chunk with one keyword hit over it.
        """
        if self._retriever is None or k <= 0:
            return []
        query_tokens = terms_of([query])[0]
        if not query_tokens:
            return []
        scores = np.asarray(self._retriever.get_scores(query_tokens))
        # A chunk with score 0 shares no term with the query: not a keyword hit at all, and it
        # must not earn rank credit in fusion.
        matching = np.flatnonzero(scores > 0)
        # Best score first; ties keep corpus order so results are deterministic.
        order = matching[np.lexsort((matching, -scores[matching]))]
        ranks = np.zeros(len(scores), dtype=np.int64)  # 0: not a hit
        ranks[order] = np.arange(1, len(order) + 1)
        chosen = [int(i) for i in order[:k]]
        below = {p for p in map(self._position, also) if p is not None and ranks[p] > k}
        chosen += sorted(below, key=lambda i: ranks[i])
        return [
            Bm25Hit(self.chunk_ids[i], self.docs[i], float(scores[i]), int(ranks[i]))
            for i in chosen
        ]

    def _position(self, chunk_id: str) -> int | None:
        if self._positions is None:  # built on first use, once per snapshot
            self._positions = {cid: n for n, cid in enumerate(self.chunk_ids)}
        return self._positions.get(chunk_id)

    def save(self, folder: Path, manifest: dict[str, Any]) -> None:
        """Write the index to ``folder`` atomically (a reader never sees a half-written one)."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = folder.with_name(f".{folder.name}.{os.getpid()}.{threading.get_ident()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        try:
            if self._retriever is not None:
                self._retriever.save(str(staging), show_progress=False)
            with (staging / _CHUNKS_FILE).open("w", encoding="utf-8") as out:
                for chunk_id, doc in zip(self.chunk_ids, self.docs, strict=True):
                    row = {"id": chunk_id, "text": doc.page_content, "metadata": doc.metadata}
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
            manifest = {**manifest, "chunks": len(self), "empty": self._retriever is None}
            (staging / _MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
            try:
                staging.rename(folder)
            except OSError:
                # Another process saved the same snapshot first; theirs is as good as ours.
                if not (folder / _MANIFEST_FILE).is_file():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> Bm25Index:
        """Read an index written by :meth:`save`."""
        manifest = json.loads((folder / _MANIFEST_FILE).read_text(encoding="utf-8"))
        chunk_ids: list[str] = []
        docs: list[Document] = []
        with (folder / _CHUNKS_FILE).open(encoding="utf-8") as rows:
            for line in rows:
                row = json.loads(line)
                chunk_ids.append(row["id"])
                docs.append(Document(row["text"], metadata=row["metadata"], id=row["id"]))
        if len(docs) != manifest["chunks"]:
            raise ValueError(f"{folder}: {len(docs)} chunks, manifest says {manifest['chunks']}")
        retriever = None
        if not manifest["empty"]:
            retriever = bm25s.BM25.load(str(folder), show_progress=False)
        return cls(chunk_ids, docs, retriever)


def cite_record(doc: Document, query: str) -> Document:
    """A chunk that packs several records, cited by the record sharing most keyword tokens with
    ``query`` (the first on a tie) rather than by its first record: its ``locator`` (and
    ``pointer``/``xpath``) become that record's. Any other chunk is returned as it is."""
    spans = record_spans(doc.metadata)
    if not spans:
        return doc
    wanted = set(terms_of([query])[0])
    tokens = terms_of([doc.page_content[start:end] for start, end, _ in spans])
    best = max(range(len(spans)), key=lambda i: (len(wanted & set(tokens[i])), -i))
    locator = spans[best][2]
    metadata = {**doc.metadata, "locator": locator}
    for key in ("pointer", "xpath"):
        if key in metadata:
            metadata[key] = locator
    return Document(page_content=doc.page_content, metadata=metadata, id=doc.id)


def _text(doc: Document) -> str:
    """A chunk as keyword search sees it: with its header (title, section, record)."""
    return indexed_text(doc.page_content, doc.metadata)


def _chunk_id(doc: Document) -> str:
    if not doc.id:
        raise StoreError("a chunk from the index has no id; BM25 hits could not be matched")
    return str(doc.id)


def _collection_identity(index: Any) -> tuple[str, str]:
    """(name, uuid) of the index's Chroma collection: a re-created collection gets a new uuid."""
    collection = index.collection
    return str(collection.name), str(collection.id)


@dataclass(frozen=True)
class _Entry:
    version: str
    bm25: Bm25Index


class Bm25Cache:
    """Built BM25 indexes by (collection, BM25 parameters), each tagged with the index version.

    ``builds`` and ``loads`` count index constructions and disk loads (for tests and the
    retrieval debugger: a repeated question must not increase them).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, float, float], _Entry] = {}
        self._build_locks: dict[tuple[str, float, float], threading.Lock] = {}
        self.builds = 0
        self.loads = 0

    def index_for(self, index: Any, settings: Settings | None = None) -> Bm25Index:
        """The BM25 index matching the current content of ``index`` (built at most once)."""
        settings = settings or get_settings()
        k1, b = settings.retrieval.bm25_k1, settings.retrieval.bm25_b
        name, uuid = _collection_identity(index)
        key = (uuid, k1, b)
        # Read the version before the chunks: the chunks we index are then at least as new as
        # the version we file them under, so a concurrent change can cost an extra rebuild but
        # never leave stale hits cached under a newer version.
        version = str(index.version())
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.version == version:
                return entry.bm25
            build_lock = self._build_locks.setdefault(key, threading.Lock())
        with build_lock:  # one build per collection at a time; others wait and reuse it
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None and entry.version == version:
                    return entry.bm25
            bm25 = self._load_or_build(index, settings, name, uuid, version)
            with self._lock:
                self._entries[key] = _Entry(version, bm25)
            return bm25

    def search(
        self,
        index: Any,
        query: str,
        k: int,
        settings: Settings | None = None,
        *,
        also: Iterable[str] = (),
    ) -> list[Bm25Hit]:
        return self.index_for(index, settings).search(query, k, also=also)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _load_or_build(
        self, index: Any, settings: Settings, name: str, uuid: str, version: str
    ) -> Bm25Index:
        k1, b = settings.retrieval.bm25_k1, settings.retrieval.bm25_b
        folder = None
        if settings.store.mode == "disk":
            folder = _snapshot_folder(settings, name, uuid, version, k1, b)
            if (folder / _MANIFEST_FILE).is_file():
                try:
                    bm25 = Bm25Index.load(folder)
                except (OSError, ValueError, KeyError):
                    # A damaged snapshot is derived data: discard it and rebuild from the store.
                    shutil.rmtree(folder, ignore_errors=True)
                else:
                    with self._lock:
                        self.loads += 1
                    return bm25
        bm25 = Bm25Index.build(index.iter_chunks(), k1=k1, b=b)
        with self._lock:
            self.builds += 1
        if folder is not None:
            manifest = {"collection": name, "uuid": uuid, "version": version, "k1": k1, "b": b}
            bm25.save(folder, manifest)
            _remove_older_snapshots(folder, uuid)
        return bm25


def _snapshot_folder(
    settings: Settings, name: str, uuid: str, version: str, k1: float, b: float
) -> Path:
    # The version string may hold any characters; the folder name only needs to be unique.
    key = f"{uuid}|{version}|{k1}|{b}|{TOKENIZER_VERSION}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(settings.cache_dir) / "bm25" / f"{name}-{digest}"


def _remove_older_snapshots(current: Path, uuid: str) -> None:
    """Delete saved snapshots of the same collection other than ``current`` (they are stale)."""
    for folder in current.parent.iterdir():
        if folder == current or folder.name.startswith(".") or not folder.is_dir():
            continue
        try:
            manifest = json.loads((folder / _MANIFEST_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not ours, or being written by another process right now
        if manifest.get("uuid") == uuid:
            shutil.rmtree(folder, ignore_errors=True)


def remove_snapshots(settings: Settings, uuid: str) -> None:
    """Delete every saved snapshot of the collection ``uuid`` (after a document was deleted,
    its text must not stay on disk in a keyword index; the next search builds a new one)."""
    folder = Path(settings.cache_dir) / "bm25"
    if folder.is_dir():
        _remove_older_snapshots(folder / ".none", uuid)


@lru_cache(maxsize=1)
def get_bm25_cache() -> Bm25Cache:
    """The process-wide BM25 cache (shared by every session and thread)."""
    return Bm25Cache()


def bm25_search(
    index: Any,
    query: str,
    k: int,
    settings: Settings | None = None,
    *,
    also: Iterable[str] = (),
) -> list[Bm25Hit]:
    """The ``k`` best BM25 hits for ``query`` over the current content of ``index``, then the
    hits among the chunk ids ``also`` that rank lower (see :meth:`Bm25Index.search`)."""
    return get_bm25_cache().search(index, query, k, settings, also=also)
