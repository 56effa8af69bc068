"""Units to chunks: token-aware splitting inside each unit, metadata stamped in one place.

Chunks never cross units, so every chunk keeps its unit's exact locator (a page, a section,
a record). Small adjacent units are deliberately not merged: merging would blur locators.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.parsed import ParsedFile

# Coarse to fine: paragraphs, lines, sentences, clauses, words, and characters as a last
# resort, so no chunk can exceed the budget even for one giant "word" (a URL, base64).
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]
_METADATA_TYPES = (str, int, float, bool)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def make_splitter(
    length_function: Callable[[str], int], chunk_tokens: int, overlap_tokens: int
) -> RecursiveCharacterTextSplitter:
    if not 0 <= overlap_tokens < chunk_tokens:
        raise ValueError(
            f"overlap_tokens must be >= 0 and < chunk_tokens, got {overlap_tokens} "
            f"and {chunk_tokens}"
        )
    return RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        keep_separator="end",  # a sentence keeps its full stop
        chunk_size=chunk_tokens,
        chunk_overlap=overlap_tokens,
        length_function=length_function,
        strip_whitespace=True,
    )


def chunk_units(
    parsed: ParsedFile,
    *,
    source: str,
    doc_id: str,
    length_function: Callable[[str], int],
    chunk_tokens: int,
    overlap_tokens: int,
) -> list[Document]:
    """Split each unit into chunks of at most ``chunk_tokens`` (by ``length_function``).

    Every chunk gets ``source``, ``doc_id``, ``chunk_index`` (0..n-1 over the file),
    ``locator``, ``content_hash``, ``format``, ``title`` and the unit's own keys.
    Deterministic: the same input gives the same chunks in the same order.
    """
    splitter = make_splitter(length_function, chunk_tokens, overlap_tokens)
    chunks: list[Document] = []
    for unit in parsed.units:
        unit_metadata = {
            key: value for key, value in unit.metadata.items() if isinstance(value, _METADATA_TYPES)
        }
        for text in splitter.split_text(unit.page_content):
            if not text.strip():
                continue
            metadata = {
                **unit_metadata,
                "source": source,
                "doc_id": doc_id,
                "chunk_index": len(chunks),
                "locator": str(unit.metadata.get("locator", "")),
                "content_hash": content_hash(text),
                "format": parsed.format,
                "title": parsed.title,
            }
            chunks.append(Document(page_content=text, metadata=metadata))
    return chunks
