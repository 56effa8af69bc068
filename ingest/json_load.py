"""Strict, bounded JSON loading: RFC 8259 encodings, nesting and string limits, clear errors.

The nesting and string checks scan the raw text with one regular expression *before*
``json.loads`` builds anything, so a 10,000-deep document or a 100 MB string is refused
without recursion and without materialising the huge value.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ingest.errors import IngestError
from ingest.limits import ParseLimits
from ingest.textcodec import bom_encoding

# A complete (or unterminated) string literal, or one bracket; unrolled so a long string is
# matched by a single [^"\\]* run, not one alternation per character.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]')


def _sniff_utf16_32(head: bytes) -> str | None:
    """RFC 4627 section 3: the NUL pattern of the first 4 bytes gives a BOM-less UTF-16/32."""
    if len(head) >= 4 and head[:3] == b"\0\0\0" and head[3]:
        return "utf-32-be"
    if len(head) >= 4 and head[0] and head[1:4] == b"\0\0\0":
        return "utf-32-le"
    if len(head) >= 2 and head[0] == 0 and head[1]:
        return "utf-16-be"
    if len(head) >= 2 and head[0] and head[1] == 0:
        return "utf-16-le"
    return None


def decode_json_text(data: bytes, name: str) -> str:
    """JSON text must be UTF-8, UTF-16 or UTF-32 (RFC 8259); anything else is refused."""
    encoding, skip = bom_encoding(data)
    sniffed = None if encoding else _sniff_utf16_32(data[:4])
    if encoding is None and sniffed is None and b"\0" in data:
        raise IngestError(name, "binary or non-text content (NUL bytes)")
    try:
        return data[skip:].decode(encoding or sniffed or "utf-8")
    except UnicodeDecodeError as exc:
        if sniffed:  # NUL bytes up front but not UTF-16/32 after all
            raise IngestError(name, "binary or non-text content (NUL bytes)") from exc
        label = (encoding or "utf-8").upper()
        raise IngestError(
            name,
            f"not valid {label} (byte 0x{exc.object[exc.start]:02x} at offset {exc.start + skip}); "
            "JSON must be encoded as UTF-8, UTF-16 or UTF-32",
        ) from exc


def _check_nesting_and_strings(text: str, name: str, limits: ParseLimits, where: str) -> None:
    depth = 0
    for match in _TOKENS.finditer(text):
        start, end = match.span()
        first = text[start]
        if first == '"':
            if end - start < 2 or text[end - 1] != '"':
                return  # unterminated string: json.loads reports the syntax error
            # Measured from the span: slicing a 100 MB string only to measure it would copy it.
            # A decoded character takes at most 12 raw ones (a \uXXXX\uXXXX surrogate pair),
            # so only strings near the limit are decoded to count exactly.
            raw = end - start - 2
            limit = limits.max_string_chars
            if raw > limit and (raw > 12 * limit or _decoded_length(text[start:end]) > limit):
                raise IngestError(
                    name,
                    f"a JSON string{where} is longer than the limit of "
                    f"{limits.max_string_chars:,} characters",
                )
        elif first in "[{":
            depth += 1
            if depth > limits.max_json_depth:
                raise IngestError(
                    name, f"JSON nesting{where} is deeper than the limit of "
                    f"{limits.max_json_depth} levels",
                )
        else:
            depth -= 1


def _decoded_length(token: str) -> int:
    try:
        return len(json.loads(token))
    except ValueError:
        return len(token)  # malformed escapes: the syntax check will refuse it anyway


def _refuse_constant(constant: str) -> Any:
    raise ValueError(f"{constant} is not valid JSON")


def load_json(text: str, name: str, limits: ParseLimits, line: int | None = None) -> Any:
    """Parse one JSON text; ``line`` (1-based) names the line of a JSON Lines file."""
    where = f" on line {line}" if line else ""
    _check_nesting_and_strings(text, name, limits, where)
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        position = f"line {line or exc.lineno}, column {exc.colno}"
        raise IngestError(name, f"invalid JSON at {position}: {exc.msg}") from exc
    except RecursionError as exc:  # unreachable after the scan; kept as a hard backstop
        raise IngestError(name, f"JSON nesting{where} is too deep") from exc
    except ValueError as exc:  # NaN/Infinity, integers beyond Python's digit limit
        raise IngestError(name, f"invalid JSON{where}: {exc}") from exc
