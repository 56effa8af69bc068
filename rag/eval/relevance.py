"""Which retrieved chunks count as relevant for a gold question.

A chunk is relevant to a gold unit when it comes from the same file and its locator is the gold
locator, or lies inside it: the gold locator followed by a structural separator ("/" for JSON
pointers and XPaths, " > " for HTML/Markdown section paths, "#" for an HTML anchor). So gold
"/errors" covers chunk "/errors/3", but gold "/errors/3" does not cover "/errors/30" and
"page 3" does not cover "page 30".

An empty gold locator names the whole file (a plain-text file without sections): any chunk of
that file is relevant.

Several chunks of one unit are one relevant item: ranks are deduplicated so the unit counts at
its first rank and later chunks of it count as not relevant.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from rag.eval.datasets import GoldRef

_BOUNDARIES = ("/", " > ", "#")


def normalise_source(source: str, root: Path | None = None) -> str:
    """A file path as a relative posix path (relative to ``root``, default the cwd, if inside)."""
    text = source.replace("\\", "/").strip()
    path = Path(text)
    if path.is_absolute():
        base = (root or Path.cwd()).resolve()
        try:
            text = path.resolve().relative_to(base).as_posix()
        except ValueError:
            text = path.as_posix()
    normalised = os.path.normpath(text).replace("\\", "/")
    return PurePosixPath(normalised).as_posix().removeprefix("./")


def same_source(chunk_source: str, gold_source: str) -> bool:
    """Equal normalised paths, or one is the other's tail at a folder boundary."""
    a = normalise_source(chunk_source)
    b = normalise_source(gold_source)
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def locator_covers(gold_locator: str, chunk_locator: str) -> bool:
    """Whether the chunk's locator is the gold locator or a structural descendant of it."""
    gold = gold_locator.strip()
    chunk = chunk_locator.strip()
    if gold == chunk or not gold:
        return True
    if not chunk.startswith(gold):
        return False
    rest = chunk[len(gold) :]
    return rest.startswith(_BOUNDARIES)


def matching_ref(meta: Mapping[str, Any], refs: Sequence[GoldRef]) -> int | None:
    """Index of the gold unit a chunk (by its metadata) belongs to, or None. A chunk that
    packs several small records belongs to each of them (their locators are in ``records``)."""
    from ingest.records import record_spans

    source = str(meta.get("source", ""))
    locators = [str(meta.get("locator", "")), *(loc for _, _, loc in record_spans(meta))]
    for i, ref in enumerate(refs):
        if same_source(source, ref.source) and any(
                locator_covers(ref.locator, locator) for locator in locators):
            return i
    return None


def dedup_hits(keys: Sequence[object | None]) -> list[bool]:
    """Relevance per rank from the relevant-unit key of each result (None = not relevant);
    a unit seen before counts as not relevant again."""
    seen: set[object] = set()
    hits: list[bool] = []
    for key in keys:
        if key is None or key in seen:
            hits.append(False)
        else:
            seen.add(key)
            hits.append(True)
    return hits
