"""Binary data written out as text (base64, hex) is no text to index.

Real documents carry it inline: a notebook's plotted image (``"image/png": "iVBORw0KG..."``),
a ``data:`` URI in Markdown or SVG, a PEM certificate, a hex dump. Split into chunks it is
hundreds of chunks of letter soup: every one embedded (a 370 KB notebook gave 1,641 chunks,
1,600 of them one image), every one a match for any query's stray wordpiece. Each such block is
replaced by a short note saying what was there and how much, and the file's warnings say so.

A block is found by how such encodings look, in one linear scan: maximal runs of the base64
alphabet (hex is a subset) at least :data:`MIN_RUN_CHARS` long that mix letters and digits,
joined across the whitespace between them (MIME wraps base64 at 64 or 76 characters a line),
adding up to :data:`MIN_BLOCK_CHARS`. Words, even long identifiers, are shorter and are not
run together with digits; a DNA or protein sequence has no digits; a checksum (a run of hex
digits of a digest's length, 128 at most) is never part of a block, so a list of them, one a
line (a release's SHA-256 sums), stays searchable.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ingest.parsed import ParsedFile

MIN_RUN_CHARS = 60
MIN_BLOCK_CHARS = 200
_RUN = re.compile(rf"[A-Za-z0-9+/=]{{{MIN_RUN_CHARS},}}")
_TAIL = re.compile(r"(?:[^\S\n]*\n[^\S\n]*[A-Za-z0-9+/]+={0,2}(?=[^\S\n]*(?:\n|\Z)))?")
_NOT_A_WORD = re.compile(r"[0-9+/=]")
_LETTER = re.compile(r"[A-Za-z]")
_DIGIT = re.compile(r"[0-9]")
# Hex digests (MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512) as a run of one case.
_DIGEST_CHARS = frozenset({32, 40, 56, 64, 96, 128})
_HEX = re.compile(r"[0-9a-f]+|[0-9A-F]+")


def _encoded(run: str) -> bool:
    return (bool(_DIGIT.search(run)) and bool(_LETTER.search(run))
            and not (len(run) in _DIGEST_CHARS and _HEX.fullmatch(run)))


def _tail_end(text: str, end: int) -> int:
    """Where a block ending at ``end`` ends with its last line: that line of a wrapped block is
    shorter than a run but belongs to it, if it is one token with a digit or "+/=" in it (a
    word on the next line, "Thanks", is not)."""
    tail = _TAIL.match(text, end)
    return tail.end() if tail and _NOT_A_WORD.search(tail.group()) else end


def _size(chars: int) -> str:
    return f"{chars / 1024:.0f} KB" if chars >= 10 * 1024 else f"{chars:,} characters"


def elide_encoded(text: str) -> tuple[str, int, int]:
    """``text`` with each block of encoded data replaced by a note ("[encoded data, 301 KB]");
    the note keeps the block's line breaks, so line numbers after it stay right. Also returns
    how many blocks there were and their characters in all."""
    blocks: list[tuple[int, int]] = []
    for match in _RUN.finditer(text):
        if not _encoded(match.group()):
            continue
        start, end = match.span()
        if blocks and not text[blocks[-1][1]:start].strip():
            blocks[-1] = (blocks[-1][0], end)  # the next line of the same wrapped block
        else:
            blocks.append((start, end))
    blocks = [(s, _tail_end(text, e)) for s, e in blocks if e - s >= MIN_BLOCK_CHARS]
    if not blocks:
        return text, 0, 0
    parts: list[str] = []
    at = 0
    for start, end in blocks:
        block = text[start:end]
        parts += [text[at:start], f"[encoded data, {_size(end - start)}]", "\n" * block.count("\n")]
        at = end
    parts.append(text[at:])
    return "".join(parts), len(blocks), sum(e - s for s, e in blocks)


def without_encoded_data(parsed: ParsedFile) -> ParsedFile:
    """``parsed`` with encoded data left out of every unit's text, and a warning saying so."""
    units, blocks, chars = [], 0, 0
    for unit in parsed.units:
        text, found, size = elide_encoded(unit.page_content)
        units.append(unit if not found else
                     unit.model_copy(update={"page_content": text}))
        blocks, chars = blocks + found, chars + size
    if not blocks:
        return parsed
    note = (f"left out {blocks} block(s) of encoded binary data (base64 or hex, {_size(chars)}"
            " in all): not text")
    return replace(parsed, units=units, warnings=(*parsed.warnings, note))
