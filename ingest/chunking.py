"""Units to chunks: token-aware splitting inside each unit, metadata stamped in one place.

Every chunk carries a short ``header`` in its metadata: the document's title and where in it
the chunk comes from (the section path of a page or section, the identity of a record). The
header is embedded and keyword-indexed with the chunk (:func:`indexed_text`), so a chunk that
reads ``ram: 268435456`` is still found by the name of the record it belongs to; the chunk's
own text (``page_content``), which quotes and highlights use, does not repeat it.

Small sibling records (units with the same ``parent`` and ``context``, as the JSON and XML
parsers mark them) are packed into one chunk up to the token budget, each led by the parts of
its ``record`` identity its text lacks and keeping its own locator in ``records`` (see
``ingest.records``);
fields of one record never end up in another record's span. Any other unit is split alone, so
a chunk never crosses pages or sections.

A chunk with no informative text (fewer than two words of letters, such as ``@version: 0.0.1``)
is not indexed unless the file would otherwise have no chunk: such chunks only ever match
questions by accident.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.codes import file_code_name, named
from ingest.parsed import ParsedFile, display_stem
from ingest.records import HEADER_KEY, RECORDS_KEY, encode_records, indexed_text

# Coarse to fine: paragraphs, lines, sentences, clauses, words, and characters as a last
# resort, so no chunk can exceed the budget even for one giant "word" (a URL, base64).
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]
_METADATA_TYPES = (str, int, float, bool)
HEADER_MAX_CHARS = 160  # about 40 tokens: most of the 256-token window stays for the text
_WORD = re.compile(r"[^\W\d_]{2,}")
MIN_INFORMATIVE_WORDS = 2
_RECORD_GAP = "\n\n"


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


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] or text[: limit - 1]
    return cut + "…"


def chunk_header(title: str, where: str) -> str:
    """``title — where``, without repeating a title the section path already starts with."""
    title, where = " ".join(title.split()), " ".join(where.split())
    if where and title and where.casefold().startswith(title.casefold()):
        title = ""
    return _shorten(" — ".join(p for p in (title, where) if p), HEADER_MAX_CHARS)


def _where(unit: Document) -> str:
    """Where a unit sits: a record's context and identity (an HTML table row's context holds
    its section), or a section path."""
    meta = unit.metadata
    if meta.get("section") and "record" not in meta:
        return str(meta["section"])
    parts = [str(meta.get(key) or "") for key in ("context", "record")]
    return " › ".join(p for p in parts if p)


def is_informative(text: str) -> bool:
    return len(_WORD.findall(text)) >= MIN_INFORMATIVE_WORDS


def _record_text(unit: Document) -> str:
    """A record's text led by the parts of its identity the text does not already hold (a
    record keyed by its parent, "IS", has only its fields in its text)."""
    body = unit.page_content.strip()
    parts = [p for p in str(unit.metadata.get("record") or "").split(" · ") if p]
    missing = [p for p in parts if p not in body]
    return f"{' · '.join(missing)}\n{body}" if missing else body


def _sibling_key(unit: Document) -> tuple[str, str]:
    return str(unit.metadata.get("parent") or ""), str(unit.metadata.get("context") or "")


def _packable(unit: Document) -> bool:
    return "parent" in unit.metadata


def _groups(units: list[Document], fits: Callable[[list[Document]], bool]
            ) -> list[list[Document]]:
    """Consecutive sibling records packed while they fit; every other unit alone."""
    groups: list[list[Document]] = []
    for unit in units:
        last = groups[-1] if groups else None
        if (last and _packable(unit) and _packable(last[-1])
                and _sibling_key(unit) == _sibling_key(last[-1])
                and fits([*last, unit])):
            last.append(unit)
        else:
            groups.append([unit])
    return groups


def _line_range(unit: Document, text: str, position: int) -> dict[str, int]:
    """``line``/``line_end`` of a piece of a unit that knows its first line in the file."""
    first = unit.metadata.get("line")
    if not isinstance(first, int) or isinstance(first, bool):
        return {}
    start = first + unit.page_content.count("\n", 0, position)
    return {"line": start, "line_end": start + text.count("\n")}


def chunk_units(
    parsed: ParsedFile,
    *,
    source: str,
    doc_id: str,
    length_function: Callable[[str], int],
    chunk_tokens: int,
    overlap_tokens: int,
    place: str = "",
) -> list[Document]:
    """Chunks of at most ``chunk_tokens`` (by ``length_function``, header included).

    ``place`` is the file's path inside the folder it was ingested from: a file with no title
    of its own (a JSON or text file, titled by its name) is headed by that path, whose
    folders often say what it is ("iana-registry/data/meta.json").

    Every chunk gets ``source``, ``doc_id``, ``chunk_index`` (0..n-1 over the file),
    ``locator``, ``content_hash`` (of the indexed text), ``format``, ``title``, ``header`` and
    the unit's own keys; a packed chunk also ``records``; a piece of a unit that knows its first
    line, ``line`` and ``line_end`` (a plain-text unit's locator then names those lines).
    Deterministic: the same input gives the same chunks in the same order.
    """
    make_splitter(length_function, chunk_tokens, overlap_tokens)  # validates the two sizes
    title = parsed.title
    stem = display_stem(source)
    if title == stem:  # no title of its own: named by its path, and its code if it is one
        if place and "/" in place:
            title = place.rsplit(".", 1)[0] if "." in place.rsplit("/", 1)[-1] else place
        title = named(title, file_code_name(stem))
    header_tokens: dict[str, int] = {}

    def budget_for(header: str) -> int:
        if header not in header_tokens:
            header_tokens[header] = length_function(header) + 1 if header else 0
        # Never below half the budget: a header is capped in characters, not tokens.
        return max(chunk_tokens - header_tokens[header], chunk_tokens // 2, 1)

    pieces: list[tuple[str, dict[str, Any]]] = []  # (text, metadata) in file order
    splitters: dict[int, RecursiveCharacterTextSplitter] = {}

    def splitter_for(size: int) -> RecursiveCharacterTextSplitter:
        if size not in splitters:
            splitters[size] = make_splitter(length_function, size,
                                            min(overlap_tokens, max(size - 1, 0)))
        return splitters[size]

    def group_header(group: list[Document]) -> str:
        if len(group) == 1:
            return chunk_header(title, _where(group[0]))
        return chunk_header(title, str(group[0].metadata.get("context") or ""))

    unit_tokens: dict[int, int] = {}

    def fits(group: list[Document]) -> bool:
        # Counted per record and summed (each record is tokenized once): a record boundary
        # is a blank line, so the sum is the joined text's count to within a token or two.
        for unit in group:
            if id(unit) not in unit_tokens:
                unit_tokens[id(unit)] = length_function(_record_text(unit)) + 1
        return sum(unit_tokens[id(u)] for u in group) <= budget_for(group_header(group))

    for group in _groups(list(parsed.units), fits):
        header = group_header(group)
        first = group[0]
        unit_metadata = {k: v for k, v in first.metadata.items() if isinstance(v, _METADATA_TYPES)}
        unit_metadata["locator"] = str(first.metadata.get("locator", ""))
        if len(group) > 1:
            spans, parts, offset = [], [], 0
            for unit in group:
                text = _record_text(unit)
                spans.append((offset, offset + len(text), str(unit.metadata.get("locator", ""))))
                parts.append(text)
                offset += len(text) + len(_RECORD_GAP)
            pieces.append((_RECORD_GAP.join(parts),
                           {**unit_metadata, HEADER_KEY: header,
                            RECORDS_KEY: encode_records(spans)}))
            continue
        text = _record_text(first) if _packable(first) else first.page_content
        cursor = 0
        for piece in splitter_for(budget_for(header)).split_text(text):
            if not piece.strip():
                continue
            position = text.find(piece, cursor)
            position = cursor if position < 0 else position
            cursor = position + 1
            metadata = {**unit_metadata, HEADER_KEY: header,
                        **_line_range(first, piece, position)}
            if "line" in metadata and not metadata["locator"]:
                a, b = metadata["line"], metadata["line_end"]
                metadata["locator"] = f"line {a}" if a == b else f"lines {a}-{b}"
            pieces.append((piece, metadata))

    informative = [p for p in pieces if is_informative(p[0])] or pieces
    chunks: list[Document] = []
    for text, metadata in informative:
        chunks.append(Document(page_content=text, metadata={
            **metadata,
            "source": source,
            "doc_id": doc_id,
            "chunk_index": len(chunks),
            "content_hash": content_hash(indexed_text(text, metadata)),
            "format": parsed.format,
            "title": parsed.title,
        }))
    return chunks
