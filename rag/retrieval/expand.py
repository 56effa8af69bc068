"""Neighbour expansion: hand the LLM a retrieved chunk together with the chunks around it.

Small chunks are matched precisely (one vector for a few sentences), but the sentence that
answers may sit just before or after the one that matched. With ``n`` neighbours a hit's text
becomes its *window*: up to ``n`` chunks on each side, read from the store in one batched get
per question, restricted to the hit's own structural unit (same ``doc_id`` and ``locator``) so
the citation still names exactly one PDF page, record or section. Hits whose windows share a
chunk become one passage. The best-ranked hit of a window keeps its scores, ranks and citation
metadata; only its text (and the ``window_start`` / ``window_end`` chunk indices) change.

Measured on the shipped gold set with the packaged SmolLM2 (3 closest sentences): 96-token chunks
answered 25 of 67 questions, 26 with one neighbour, 25 with two (256-token chunks: 23, and 23
with one neighbour). A window lets the right sentence in when it sits next to the matched one,
and as often crowds it out of the three that are kept, so the option is off by default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.documents import Document

from rag.errors import ConfigError
from rag.retrieval.modes import RetrievedChunk

_ChunkKey = tuple[str, int]  # (doc_id, chunk_index)


@dataclass
class _Window:
    """A run of consecutive chunks of one unit, and the best-ranked hit inside it."""

    hit: RetrievedChunk
    doc_id: str
    locator: str
    start: int  # chunk_index of the first chunk, inclusive
    end: int  # chunk_index of the last chunk, inclusive

    def shares_chunks_with(self, other: _Window) -> bool:
        return (
            self.doc_id == other.doc_id
            and self.locator == other.locator
            and self.start <= other.end
            and other.start <= self.end
        )


def expand_neighbours(
    index: Any, chunks: Sequence[RetrievedChunk], neighbours: int
) -> list[RetrievedChunk]:
    """Each hit with up to ``neighbours`` chunks of its unit on each side, in reading order.

    ``index`` is a ``DocumentIndex`` (its Chroma ``collection`` is read). Returns the hits in
    their order, merged where windows share a chunk (the earlier hit survives). A hit without
    ``doc_id``/``chunk_index`` metadata is passed through. ``neighbours == 0`` returns the hits
    unchanged.
    """
    if neighbours < 0:
        raise ConfigError(f"expand_neighbours must be 0 or more, got {neighbours}")
    if neighbours == 0 or not chunks:
        return list(chunks)
    stored = _stored_neighbours(index, chunks, neighbours)
    for chunk in chunks:  # the hit's own text is what retrieval returned
        key = _chunk_key(chunk.doc)
        if key is not None:
            stored[key] = chunk.doc

    windows: list[_Window | RetrievedChunk] = []
    for chunk in chunks:
        window = _window_of(chunk, stored, neighbours)
        if window is None:
            windows.append(chunk)
            continue
        overlapping = [
            w for w in windows if isinstance(w, _Window) and w.shares_chunks_with(window)
        ]
        if not overlapping:
            windows.append(window)
            continue
        # Windows are contiguous runs of one unit, so the union of overlapping ones is too;
        # the earliest (best-ranked) window absorbs the others.
        keeper = overlapping[0]
        for other in [window, *overlapping[1:]]:
            keeper.start = min(keeper.start, other.start)
            keeper.end = max(keeper.end, other.end)
        windows = [w for w in windows if not any(w is o for o in overlapping[1:])]
    return [w if isinstance(w, RetrievedChunk) else _render(w, stored) for w in windows]


def _chunk_key(doc: Document) -> _ChunkKey | None:
    meta = doc.metadata
    doc_id, position = meta.get("doc_id"), meta.get("chunk_index")
    if not doc_id or position is None:
        return None
    try:
        return str(doc_id), int(position)
    except (TypeError, ValueError):
        return None


def _stored_neighbours(
    index: Any, chunks: Sequence[RetrievedChunk], neighbours: int
) -> dict[_ChunkKey, Document]:
    """The chunks that could be in any hit's window, in one store read.

    The filter is the cross product of the hits' documents, locators and chunk positions (a
    superset); the window walk below keeps only each hit's own unit.
    """
    doc_ids: set[str] = set()
    locators: set[str] = set()
    positions: set[int] = set()
    for chunk in chunks:
        key = _chunk_key(chunk.doc)
        if key is None:
            continue
        doc_ids.add(key[0])
        locators.add(str(chunk.doc.metadata.get("locator", "")))
        positions.update(
            p for p in range(key[1] - neighbours, key[1] + neighbours + 1)
            if p >= 0 and p != key[1]
        )
    if not doc_ids or not positions:
        return {}
    where = {
        "$and": [
            {"doc_id": {"$in": sorted(doc_ids)}},
            {"locator": {"$in": sorted(locators)}},
            {"chunk_index": {"$in": sorted(positions)}},
        ]
    }
    found = index.read(
        "reading neighbours from", lambda c: c.get(where=where, include=["documents", "metadatas"])
    )
    stored: dict[_ChunkKey, Document] = {}
    for chunk_id, text, metadata in zip(
        found["ids"], found["documents"] or [], found["metadatas"] or [], strict=True
    ):
        doc = Document(text or "", metadata={**(metadata or {}), "chunk_id": chunk_id}, id=chunk_id)
        key = _chunk_key(doc)
        if key is not None:
            stored[key] = doc
    return stored


def _window_of(
    chunk: RetrievedChunk, stored: dict[_ChunkKey, Document], neighbours: int
) -> _Window | None:
    key = _chunk_key(chunk.doc)
    if key is None:
        return None
    doc_id, position = key
    locator = str(chunk.doc.metadata.get("locator", ""))

    def in_unit(p: int) -> bool:
        doc = stored.get((doc_id, p))
        return doc is not None and str(doc.metadata.get("locator", "")) == locator

    # Walk outwards and stop at the first gap: two separate units may share a locator (two
    # Markdown sections with the same heading path), and a window must not jump between them.
    start = position
    while start > position - neighbours and in_unit(start - 1):
        start -= 1
    end = position
    while end < position + neighbours and in_unit(end + 1):
        end += 1
    return _Window(chunk, doc_id, locator, start, end)


def _render(window: _Window, stored: dict[_ChunkKey, Document]) -> RetrievedChunk:
    texts = [stored[(window.doc_id, p)].page_content for p in range(window.start, window.end + 1)]
    hit = window.hit
    metadata = {**hit.doc.metadata, "window_start": window.start, "window_end": window.end}
    return replace(hit, doc=Document(join_overlapping(texts), metadata=metadata, id=hit.doc.id))


def join_overlapping(texts: Sequence[str]) -> str:
    """Consecutive chunks as one text, the overlap between neighbours kept once."""
    if not texts:
        return ""
    joined = texts[0]
    previous = texts[0]
    for text in texts[1:]:
        shared = overlap_length(previous, text)
        # The splitter strips the whitespace it cut at, so without an overlap the original
        # separator is lost. It cuts at paragraph and line breaks first, so a line break is
        # the likelier original and keeps "key: value" record lines apart.
        joined += text[shared:] if shared else "\n" + text
        previous = text
    return joined


def overlap_length(previous: str, following: str) -> int:
    """Length of the longest end of ``previous`` that ``following`` starts with, if it can be
    the splitter's overlap; 0 otherwise.

    The splitter (ingest/chunking.py) cuts between pieces that end in their separator (a space,
    a line break) and strips each chunk, and its overlap is always whole trailing pieces of
    the previous chunk but never all of it. So a true overlap starts after whitespace in
    ``previous``, is followed by whitespace in ``following``, and is neither chunk whole: a
    heading chunk "Battery" before "Battery capacity is 5.2 Ah." is not an overlap, nor is a
    chunk ending in "the" before one starting with "their".
    """
    for size in range(min(len(previous), len(following)) - 1, 0, -1):
        if (
            previous[-size - 1].isspace()
            and following[size].isspace()
            and previous.endswith(following[:size])
        ):
            return size
    return 0
