"""Documents compressed whole: gzip, bzip2 or xz around one file (``changelog.Debian.gz``,
``README.txt.gz``, ``manual.pdf.xz``), as Debian's /usr/share/doc and many source trees ship
them.

The compression is recognised by its magic bytes, not by the name, and the content is read
back under the file size limit: a small file that expands past it (a decompression bomb) fails
with that reason once the limit is reached, without ever holding more than the limit in
memory. What the content is, is then decided as for any file (ingest/registry.py), from the
name without its compression suffix and from the decompressed bytes. One layer only: an
archive of several files (``.tar.gz``) decompresses to a tar stream, which is no document.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from ingest.errors import IngestError
from ingest.limits import ParseLimits, _megabytes


@dataclass(frozen=True)
class Compression:
    name: str  # as the user knows it: "gzip"
    magic: bytes
    suffixes: tuple[str, ...]  # name endings it is written with, stripped from the inner name
    reader: Callable[[IO[bytes]], IO[bytes]]  # the stream of the content, read as it is asked


COMPRESSIONS = (
    Compression("gzip", b"\x1f\x8b", (".gz", ".z"), lambda raw: gzip.GzipFile(fileobj=raw)),
    Compression("bzip2", b"BZh", (".bz2",), bz2.BZ2File),
    Compression("xz", b"\xfd7zXZ\x00", (".xz",), lzma.LZMAFile),
)


def compression_of(head: bytes) -> Compression | None:
    """The compression whose magic ``head`` starts with, else None."""
    return next((c for c in COMPRESSIONS if head.startswith(c.magic)), None)


def inner_name(name: str, compression: Compression) -> str:
    """The name of the compressed file: ``notes.txt.gz`` -> ``notes.txt``; a name without the
    suffix is kept (the content then decides the format)."""
    lowered = name.lower()
    for suffix in compression.suffixes:
        if lowered.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def decompress(data: bytes, name: str, limits: ParseLimits) -> tuple[bytes, str, str] | None:
    """(content, its name, the compression's name) when ``data`` is compressed, else None.

    Raises :class:`IngestError` naming ``name`` when the stream is corrupt or cut short, or when
    its content is larger than ``limits.max_bytes``.
    """
    compression = compression_of(data[:8])
    if compression is None:
        return None
    try:
        with compression.reader(io.BytesIO(data)) as stream:
            content = stream.read(limits.max_bytes + 1)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise IngestError(name, f"{compression.name} data that cannot be read: {exc}") from exc
    if len(content) > limits.max_bytes:
        raise IngestError(
            name,
            f"its {compression.name} content is over the {_megabytes(limits.max_bytes)} MB "
            "limit for one file",
        )
    return content, inner_name(name, compression), compression.name
