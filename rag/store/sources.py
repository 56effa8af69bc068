"""How files are found and named in the index: the folder walk (what is read, what is passed
over and why), the source key a file is listed under, and the document and chunk ids derived
from it and from the chunks' content."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from langchain_core.documents import Document


def source_key(path: Path) -> str:
    """How a file is named in the index: relative to the working folder when inside it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def document_id(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def chunk_ids(doc_id: str, chunks: Sequence[Document]) -> list[str]:
    """Content-derived ids; the occurrence number tells identical chunks of a file apart."""
    seen: dict[str, int] = {}
    ids = []
    for chunk in chunks:
        content_hash = chunk.metadata["content_hash"]
        occurrence = seen.get(content_hash, 0)
        seen[content_hash] = occurrence + 1
        ids.append(f"{doc_id}-{content_hash}-{occurrence}")
    return ids


def walk_paths(
    paths: Iterable[Path | str], exclude: Iterable[Path] = ()
) -> list[tuple[Path, str]]:
    """Every file to report on: ``(path, "")`` to read, ``(path, reason)`` when passed over.

    Files named directly are read whatever their name (a missing one fails later with its
    reason). Folders are walked recursively and sorted; every regular file in them is read,
    and the parser decides by content what it is. Passed over, each listed with its reason:
    hidden files and folders (".git", ".env", ".DS_Store": tool state and secrets, not
    documents; a hidden folder is one entry with its file count), the folders in ``exclude``
    (the index's own folder), symbolic links to folders (they can loop), pipes, sockets and
    devices (reading a pipe would block), broken links and folders that cannot be read.
    """
    excluded = {Path(p).resolve() for p in exclude}
    found: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(_walk_folder(path, excluded)))
        else:
            found.append((path, ""))
    return found


def place_in(path: Path, folders: Sequence[Path]) -> str:
    """``path`` inside the first of ``folders`` that holds it ("pkg/data/meta.json"), else its
    name: the folders a file sits in often say what a data file is when nothing inside does."""
    resolved = path.resolve()
    for folder in folders:
        if resolved.is_relative_to(folder):
            return resolved.relative_to(folder).as_posix()
    return path.name


def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """The files :func:`walk_paths` would read (the passed-over ones left out)."""
    return [path for path, reason in walk_paths(paths) if not reason]


def _walk_folder(folder: Path, excluded: set[Path]) -> Iterator[tuple[Path, str]]:
    unreadable: list[OSError] = []
    for root, folders, files in os.walk(folder, onerror=unreadable.append):
        here = Path(root)
        kept = []
        for name in folders:
            reason = _passed_over_folder(here / name, excluded)
            if reason:
                yield here / name, reason
            else:
                kept.append(name)
        folders[:] = kept  # os.walk descends only into what is left here
        for name in files:
            yield here / name, _passed_over_file(here / name)
    for error in unreadable:
        yield Path(error.filename), f"cannot read folder: {error.strerror or error}"


def _passed_over_folder(path: Path, excluded: set[Path]) -> str:
    if path.is_symlink():
        return "symbolic link to a folder: not followed (links can loop)"
    if path.name.startswith("."):
        count = sum(len(files) for _, _, files in os.walk(path))
        return f"hidden folder: not searched ({count} files inside)"
    if path.resolve() in excluded:
        return "the index's own folder: not searched"
    return ""


def _passed_over_file(path: Path) -> str:
    if path.name.startswith("."):
        return "hidden file: not read (name it directly to ingest it)"
    if path.is_symlink() and not path.exists():
        return "broken symbolic link"
    if not path.is_file():
        return "not a regular file (a pipe, socket or device): not read"
    return ""
