"""Turning the bytes of a text format (HTML, text, Markdown, XML) into str without crashing.

Order: byte-order mark, then the charset the document declares, then UTF-8. Bytes that are not
UTF-8 are then read one of two ways, and a warning says which:

* mostly-ASCII bytes: UTF-8 where every byte that is not valid UTF-8 is read as cp1252, so a
  file that mixes both (common after copy/paste between editors) decodes with both parts
  readable. Detectors guess badly here: on a few accented letters in French, charset-normalizer
  picked cp1257 and cp775 (``tests/ingest/test_text.py`` keeps such a case);
* mostly non-ASCII bytes (Cyrillic, Greek, CJK legacy encodings): detected with
  charset-normalizer; when it finds no encoding that reads as text, the bytes are binary.

A declared charset the bytes do not follow is reported and treated as undeclared; so is a
legacy label on bytes that are valid UTF-8 with non-ASCII characters.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

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
# nor mostly ASCII go to the detector (a legacy encoding of another script) or are binary.
_MIN_ASCII_SHARE_FOR_CP1252 = 0.7
_ASCII = bytes(range(128))
# The detector reads a sample; more bytes only cost time (it samples large inputs itself).
_DETECT_BYTES = 1_000_000


@dataclass(frozen=True)
class DecodedText:
    """Decoded text, the codec that produced it and what had to be forgiven on the way."""

    text: str
    encoding: str
    warnings: tuple[str, ...] = ()


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


def python_codec(label: str | None) -> str | None:
    """Python's codec name for a charset label ("windows_1252", "x-mac-roman"...), or None."""
    if not label:
        return None
    label = label.strip().lower()
    label = _CHARSET_ALIASES.get(label, label)
    # "x-" marks an unregistered name (x-mac-roman, x-sjis); the rest is often a known one.
    for candidate in (label, label.removeprefix("x-")):
        try:
            return codecs.lookup(candidate).name
        except LookupError:
            continue
    return None


def _where(data: bytes, exc: UnicodeDecodeError) -> str:
    line = data.count(b"\n", 0, exc.start) + 1
    return f"line {line}: byte 0x{data[exc.start]:02x} {exc.reason}"


def _detected(data: bytes, name: str, why: str) -> DecodedText:
    """Undeclared (or wrongly declared) bytes that are not UTF-8: cp1252 per byte or detection."""
    non_ascii = len(data.translate(None, _ASCII))
    if non_ascii <= (1 - _MIN_ASCII_SHARE_FOR_CP1252) * len(data):
        text = _utf8_with_cp1252_fallback(data)
        return DecodedText(text, "utf-8+cp1252", (f"{why}; bytes that are not UTF-8 were "
                                                  "read as cp1252 (Western European)",))
    from charset_normalizer import from_bytes  # ~0.1 s to import; only legacy files need it

    best = from_bytes(data[:_DETECT_BYTES]).best()
    if best is None:
        raise IngestError(name, "binary or non-text content (neither UTF-8 nor mostly-ASCII "
                                "text, and no text encoding detected)")
    try:
        text = data.decode(best.encoding)
    except UnicodeDecodeError:  # the sample decoded but a later byte does not
        text = data.decode(best.encoding, errors="replace")
    return DecodedText(text, best.encoding,
                       (f"{why}; detected encoding {best.encoding} (charset-normalizer)",))


def decode_document(data: bytes, name: str, declared_charset: str | None = None) -> DecodedText:
    """Decode a text document and say what was forgiven; refuse binary content."""
    encoding, skip = bom_encoding(data)
    if encoding:
        try:
            text = data[skip:].decode(encoding)
        except UnicodeDecodeError as exc:
            raise IngestError(name, f"text does not match its {encoding} byte-order mark") from exc
        return _checked(DecodedText(text, encoding), name)
    if b"\x00" in data:
        raise IngestError(name, "binary or non-text content (NUL bytes)")
    codec = python_codec(declared_charset)
    warnings: list[str] = []
    if declared_charset and codec is None:
        warnings.append(f"declared encoding {declared_charset!r} is unknown; ignored")
    elif codec in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"):
        # NUL-free bytes cannot be UTF-16/32: the label was copied, not the encoding.
        warnings.append(f"declared encoding {declared_charset} ignored: no byte-order mark and "
                        "no NUL bytes")
    elif codec and codec != "utf-8":
        if _is_non_ascii_utf8(data):
            # Valid UTF-8 with non-ASCII bytes is next to impossible by chance in a legacy
            # encoding: the file was converted and kept its old label (seen in real XML).
            return _checked(DecodedText(data.decode("utf-8"), "utf-8", (
                f"declared encoding {declared_charset} ignored: the bytes are UTF-8",)), name)
        try:
            return _checked(DecodedText(data.decode(codec), codec), name)
        except UnicodeDecodeError as exc:
            declared_lie = (f"declared encoding {declared_charset} does not match the bytes "
                            f"({_where(data, exc)})")
            try:
                return _checked(DecodedText(data.decode("utf-8"), "utf-8",
                                            (f"{declared_lie}; read as UTF-8",)), name)
            except UnicodeDecodeError:
                return _checked(_detected(data, name, declared_lie), name)
    try:
        decoded = DecodedText(data.decode("utf-8"), "utf-8", tuple(warnings))
    except UnicodeDecodeError as exc:
        what = (f"declared encoding {declared_charset} does not match the bytes"
                if codec == "utf-8" else "not UTF-8")
        decoded = _detected(data, name, f"{what} ({_where(data, exc)})")
        decoded = DecodedText(decoded.text, decoded.encoding, (*warnings, *decoded.warnings))
    return _checked(decoded, name)


def _is_non_ascii_utf8(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _too_many_controls(text: str) -> bool:
    sample = text[:_SAMPLE_CHARS]
    return len(_CONTROL_CHARS.findall(sample)) > _MAX_CONTROL_SHARE * len(sample)


def _checked(decoded: DecodedText, name: str) -> DecodedText:
    if _too_many_controls(decoded.text):
        raise IngestError(name, "binary or non-text content (control characters)")
    text = decoded.text.replace("\r\n", "\n").replace("\r", "\n")
    return DecodedText(text, decoded.encoding, decoded.warnings)


def decode_text(data: bytes, name: str, declared_charset: str | None = None) -> str:
    """Decode a text document; refuse binary content with one clear IngestError."""
    return decode_document(data, name, declared_charset).text


def looks_like_text(head: bytes) -> bool:
    """Whether the first bytes of a file read as text (the rule ``decode_document`` applies).

    ``head`` may end inside a character; that cut is not held against it.
    """
    encoding, skip = bom_encoding(head)
    if encoding:
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(head[skip:], final=False)
        except UnicodeDecodeError:
            return False
        return not _too_many_controls(text)
    head = head[: len(head) - _cut_utf8_tail(head)]
    try:
        decode_document(head, "(sniffed)")
    except IngestError:
        return False
    return True


def _cut_utf8_tail(head: bytes) -> int:
    """How many bytes at the end start a UTF-8 sequence the cut left unfinished."""
    for back in range(1, min(4, len(head)) + 1):
        byte = head[-back]
        if byte < 0x80:
            return 0
        if byte >= 0xC0:  # a lead byte: unfinished if it announced more than we have
            needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return back if needed > back else 0
    return 0
