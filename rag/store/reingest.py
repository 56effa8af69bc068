"""Which files a re-ingest started from the app may read again.

A document's registry record names its source path, and the registry lives in the store: on a
Chroma server, anyone who can write to it can plant a record naming any local file (the app's
secrets, ``/etc/passwd``), and a re-ingest would read that file into the store for them. So a
re-ingest reads a source again only when the path, resolved with its symbolic links, lies in
the upload folder or one of the configured corpus folders (``settings.ingest.upload_dir``,
``settings.ingest.corpus_dirs``); anything else is refused with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rag.errors import RagError
from rag.settings import Settings


class ReingestRefused(RagError):
    """A registry source a re-ingest will not read: outside the allowed folders, or gone."""


def allowed_roots(settings: Settings) -> list[Path]:
    """The folders a re-ingest may read from, resolved (symbolic links followed)."""
    folders = [settings.ingest.upload_dir, *settings.ingest.corpus_dirs]
    return list(dict.fromkeys(folder.resolve() for folder in folders))


def reingest_path(source: str, settings: Settings) -> Path:
    """The file a registry ``source`` names, if a re-ingest may read it; else
    :class:`ReingestRefused` saying why. Relative sources are relative to the working folder,
    as :func:`rag.store.sources.source_key` wrote them."""
    try:
        resolved = Path(source).resolve(strict=True)
    except (OSError, RuntimeError) as exc:  # missing, or a symbolic-link loop
        raise ReingestRefused(f"{source}: source file no longer on disk") from exc
    roots = allowed_roots(settings)
    if not any(resolved.is_relative_to(root) for root in roots):
        shown = ", ".join(str(root) for root in roots)
        raise ReingestRefused(
            f"{source}: not re-read: it is outside the upload folder and the corpus folders "
            f"({shown}); re-ingest reads only files there (setting ingest.corpus_dirs)"
        )
    if not resolved.is_file():
        raise ReingestRefused(f"{source}: not a regular file")
    return resolved


def reingest_paths(
    sources: Iterable[str], settings: Settings
) -> tuple[list[Path], list[ReingestRefused]]:
    """The files of ``sources`` a re-ingest may read, and the refusals for the others."""
    paths: list[Path] = []
    refused: list[ReingestRefused] = []
    for source in sources:
        try:
            paths.append(reingest_path(source, settings))
        except ReingestRefused as exc:
            refused.append(exc)
    return paths, refused
