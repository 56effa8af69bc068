"""What a stored chunk carries beyond its text: its header, and the records it packs.

A chunk's ``header`` (title and section or record identity, see ``ingest.chunking``) is
embedded and keyword-indexed with its text (:func:`indexed_text`) but is not part of the text
that quotes and highlights use.

Chunks that pack several small records keep each record's locator.

A packed chunk's metadata holds ``records``: a JSON list of ``[start, end, locator]``, character
offsets into the chunk's text, one per record, in order. Chroma metadata values must be scalars,
hence a JSON string. A citation names the record whose span holds the quoted or matching text
(:func:`record_at`), not the chunk's first record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

RECORDS_KEY = "records"
HEADER_KEY = "header"
# A page's running heads and feet, one per line (ingest.pdf_margins): no passage to quote.
RUNNING_KEY = "running"
# Bumped when chunk texts, headers or metadata change for the same file, so an unchanged file
# is chunked and embedded again (it is part of the index's chunking signature).
CHUNKER_VERSION = 15


def indexed_text(text: str, metadata: Mapping[str, Any]) -> str:
    """What is embedded and keyword-indexed for a chunk: its header, then its text."""
    header = str(metadata.get(HEADER_KEY) or "")
    return f"{header}\n{text}" if header else text


def encode_records(spans: list[tuple[int, int, str]]) -> str:
    return json.dumps([[start, end, locator] for start, end, locator in spans],
                      ensure_ascii=False, separators=(",", ":"))


def record_spans(meta: Mapping[str, Any]) -> list[tuple[int, int, str]]:
    """The ``[start, end, locator]`` spans of a packed chunk ([] for a one-unit chunk)."""
    raw = meta.get(RECORDS_KEY)
    if not isinstance(raw, str) or not raw:
        return []
    try:
        spans = json.loads(raw)
    except ValueError:
        return []
    out = []
    for span in spans if isinstance(spans, list) else []:
        if (isinstance(span, list) and len(span) == 3 and isinstance(span[0], int)
                and isinstance(span[1], int)):
            out.append((span[0], span[1], str(span[2])))
    return out


def records_in_chunk(text: str, meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(record text, record locator) for each record packed in a chunk."""
    return [(text[start:end], locator) for start, end, locator in record_spans(meta)]


def record_at(meta: Mapping[str, Any], offset: int) -> str:
    """The locator of the record holding character ``offset`` of the chunk's text; the chunk's
    own locator when it packs no records or the offset lies between them."""
    for start, end, locator in record_spans(meta):
        if start <= offset < end:
            return locator
    return str(meta.get("locator", ""))
