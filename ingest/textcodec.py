"""Turning the bytes of a text format (HTML, text, Markdown) into str without crashing.

Order: byte-order mark, then the charset the document declares, then UTF-8 where every byte
that is not valid UTF-8 is read as cp1252 (so a file that mixes both, common after copy/paste
between editors, decodes with both parts readable). Bytes cp1252 leaves undefined become
U+FFFD: the last-resort ``errors="replace"``.
"""

from __future__ import annotations

import codecs
import re

from ingest.errors import IngestError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# WHATWG: documents labelled latin-1 / ascii are decoded as windows-1252 by every browser.
_CHARSET_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "ascii": "cp1252"}
_FALLBACK_HANDLER = "ingest-cp1252-fallback"
# C0 controls other than tab, newline, carriage return, form feed: rare in real text.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_SAMPLE_CHARS = 65_536
_MAX_CONTROL_SHARE = 0.01
# Real cp1252 text (Western European languages) is mostly ASCII; bytes that are neither UTF-8
# nor mostly ASCII are binary (or a legacy encoding whose text would be garbage anyway).
_MIN_ASCII_SHARE_FOR_CP1252 = 0.7
_ASCII = bytes(range(128))


def bom_encoding(data: bytes) -> tuple[str | None, int]:
    """The encoding a byte-order mark announces and the mark's length, or (None, 0)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, len(bom)
    return None, 0


def _cp1252_per_byte(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return bad.decode("cp1252", errors="replace"), exc.end


def _utf8_with_cp1252_fallback(data: bytes) -> str:
    # Registered on first use (no work at import time); registering twice is harmless.
    codecs.register_error(_FALLBACK_HANDLER, _cp1252_per_byte)
    return data.decode("utf-8", errors=_FALLBACK_HANDLER)


def _known_codec(label: str | None) -> str | None:
    if not label:
        return None
    label = _CHARSET_ALIASES.get(label.strip().lower(), label.strip().lower())
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_text(data: bytes, name: str, declared_charset: str | None = None) -> str:
    """Decode a text document; refuse binary content with one clear IngestError."""
    encoding, skip = bom_encoding(data)
    if encoding:
        try:
            return data[skip:].decode(encoding).replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError as exc:
            raise IngestError(name, f"text does not match its {encoding} byte-order mark") from exc
    if b"\x00" in data:
        raise IngestError(name, "binary or non-text content (NUL bytes)")
    text = None
    codec = _known_codec(declared_charset)
    # UTF-8 is covered by the fallback below; a UTF-16/32 label on NUL-free bytes is a lie.
    if codec and codec not in ("utf-8", "utf-16", "utf-32"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            text = None  # the declaration lies; fall through to detection
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            non_ascii = len(data.translate(None, _ASCII))
            if non_ascii > (1 - _MIN_ASCII_SHARE_FOR_CP1252) * len(data):
                raise IngestError(
                    name, "binary or non-text content (neither UTF-8 nor mostly-ASCII text)"
                ) from exc
            text = _utf8_with_cp1252_fallback(data)
    sample = text[:_SAMPLE_CHARS]
    if len(_CONTROL_CHARS.findall(sample)) > _MAX_CONTROL_SHARE * len(sample):
        raise IngestError(name, "binary or non-text content (control characters)")
    return text.replace("\r\n", "\n").replace("\r", "\n")
