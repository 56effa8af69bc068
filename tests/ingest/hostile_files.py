"""Files built to hurt a parser, made on the fly (a few KB each, none stored in the repo).

Shared by the parser-process tests (``tests/ingest/test_isolation.py``) and the batch tests
through the index (``tests/rag/store/test_index_hostile.py``).
"""

from __future__ import annotations

import json
import zlib


def slow_pdf(text_ops: int = 400_000) -> bytes:
    """One page whose compressed content stream draws ``text_ops`` strings: pdfium extracts
    its text in one call (~1 s per 100,000 here), so no check between pages can stop it."""
    body = b"BT /F1 1 Tf " + b"".join(
        b"1 0 0 1 %d %d Tm (x) Tj " % (i % 500, i % 700) for i in range(text_ops)) + b" ET"
    stream = zlib.compress(body, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body_ in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body_ + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return out


def expansion_bomb_json(depth: int = 10, key_chars: int = 1000, records: int = 30_000) -> bytes:
    """Long keys nested ``depth`` deep over an array of tiny records: every record's pointer,
    parent and context repeat the whole path (``depth * key_chars`` characters each), which
    made a 223 KB JSON 595 MB of text before locators were cut."""
    value: object = [{"a": 1} for _ in range(records)]
    for level in range(depth):
        value = {chr(ord("a") + level % 26) * key_chars: value}
    return json.dumps(value, separators=(",", ":")).encode()


def memory_bomb_json(items: int = 1_500_000) -> bytes:
    """4 bytes per item on disk, ~100 in Python objects once loaded: 6 MB becoming 150 MB+."""
    return b"[" + b"[0]," * items + b"[0]]"


def memory_bomb_xml(elements: int = 1_000_000) -> bytes:
    """4 bytes per empty element on disk, ~100 in libxml2's tree: a C parser running out,
    which says so in its own words ("unknown error"), not with a MemoryError."""
    return b"<r>" + b"<a/>" * elements + b"</r>"
