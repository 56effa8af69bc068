"""Uploaded files: safe names, a size limit, and a home under ``settings.ingest.upload_dir``.

A browser sends whatever file name the user's OS (or an attacker) chose. The name becomes one
plain path component: no separators, no ``..``, no NUL or control characters, at most 200
characters with the extension kept, and the final resolved path must lie inside the upload dir.

With sign-in on, each user uploads into a folder of their own under it (:func:`for_owner`), so
two users' files of the same name never replace each other, nor does a queued ingest read the
other one's file.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path

from ingest.errors import IngestError
from rag.access.users import check_username
from rag.settings import Settings, get_settings

MAX_NAME_CHARS = 200
_MAX_EXTENSION_CHARS = 16  # longer "extensions" are just part of a name with a dot in it
_FALLBACK_NAME = "upload"
_SEPARATORS = re.compile(r"[/\\]+")
_DOT_RUNS = re.compile(r"\.{2,}")


def sanitize_filename(name: str) -> str:
    """One safe path component made from a user-supplied file name."""
    # Drop control and format characters (NUL, newlines, bidi overrides that disguise names).
    cleaned = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf"))
    cleaned = unicodedata.normalize("NFC", cleaned)
    # Keep the last path component: "C:\\evil\\x.pdf" and "../../x.pdf" both become "x.pdf".
    parts = [p for p in _SEPARATORS.split(cleaned) if p.strip(" .")]
    cleaned = parts[-1] if parts else ""
    cleaned = _DOT_RUNS.sub(".", cleaned).strip(" .")  # no "..", no hidden or trailing-dot names
    cleaned = cleaned.replace(":", "_")  # drive letters and NTFS streams on shared folders
    if not cleaned:
        return _FALLBACK_NAME
    return _limit_length(cleaned)


def _limit_length(name: str) -> str:
    if len(name) <= MAX_NAME_CHARS:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and stem and len(extension) <= _MAX_EXTENSION_CHARS:
        return stem[: MAX_NAME_CHARS - len(extension) - 1].rstrip(" .") + "." + extension
    return name[:MAX_NAME_CHARS]


def for_owner(settings: Settings, owner: str) -> Settings:
    """``settings`` with the upload folder of ``owner`` (a user name; "" = no sign-in, the
    shared folder as before). Re-ingest then reads back only from that user's folder."""
    if not owner:
        return settings
    folder = settings.ingest.upload_dir / check_username(owner)  # one safe path component
    return settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update={"upload_dir": folder})}
    )


def check_upload_size(name: str, size: int, settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    limit = settings.ingest.max_file_mb * 1024 * 1024
    if size > limit:
        raise IngestError(
            name,
            f"file is {size / 1024 / 1024:.1f} MB, the upload limit is "
            f"{settings.ingest.max_file_mb:g} MB",
        )
    if size == 0:
        raise IngestError(name, "file is empty (0 bytes)")


def upload_path(name: str, settings: Settings | None = None) -> Path:
    """Where an upload of this name is kept; refuses anything that would land outside."""
    settings = settings or get_settings()
    root = settings.ingest.upload_dir.resolve()
    target = (root / sanitize_filename(name)).resolve()
    if target.parent != root:
        raise IngestError(name, "file name would leave the upload folder")
    return target


def save_upload(name: str, data: bytes, settings: Settings | None = None) -> Path:
    """Store an uploaded file under the upload dir and return its path.

    The same name uploaded again replaces the file; the index then sees identical content as
    unchanged (no re-embedding) and changed content as a new version of the same document.
    """
    settings = settings or get_settings()
    check_upload_size(name, len(data), settings)
    target = upload_path(name, settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename: a crash mid-write never leaves a half file under the real name.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise IngestError(target.name, f"cannot save the upload: {exc.strerror}") from exc
    return target


def remove_upload_copy(source: str, settings: Settings | None = None) -> bool:
    """Delete the kept copy of an uploaded file (when ``source`` lies in the upload folder, any
    user's), so a deleted document leaves no file behind; True when one was removed. Files
    elsewhere (a corpus folder, a path ingested from the CLI) are the user's own and stay."""
    settings = settings or get_settings()
    root = settings.ingest.upload_dir.resolve()
    try:
        path = Path(source).resolve()
    except (OSError, ValueError):
        return False
    if root not in path.parents or not path.is_file():
        return False
    path.unlink(missing_ok=True)
    return True
