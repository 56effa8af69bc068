"""Loaders for the evaluation inputs: our gold set, the BEIR layout and SQuAD 2.0 answers.

Everything is read eagerly into frozen dataclasses; a malformed line raises ``ConfigError``
naming the file and line, so a broken gold set fails before any model is loaded.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from rag.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class GoldRef:
    """One relevant unit of the corpus: a file and a structural locator inside it."""

    source: str  # relative posix path as written in the gold set, e.g. "data/corpus/x.pdf"
    locator: str  # "page 3", "/errors/3", "Install > Linux#linux", "/catalog/book[2]"


@dataclass(frozen=True)
class GoldItem:
    id: str
    question: str
    answer: str
    aliases: tuple[str, ...]
    relevant: tuple[GoldRef, ...]
    format: str
    answerable: bool

    @property
    def references(self) -> tuple[str, ...]:
        """The reference answer and its accepted aliases."""
        return tuple(a for a in (self.answer, *self.aliases) if a)


@dataclass(frozen=True)
class BeirDataset:
    """A BEIR-layout benchmark restricted to one split's judged queries."""

    name: str
    corpus: dict[str, tuple[str, str]]  # doc id -> (title, text)
    queries: dict[str, str]  # query id -> text (only queries judged in the split)
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: relevance > 0}


@dataclass(frozen=True)
class SquadItem:
    id: str
    question: str
    answers: tuple[str, ...]
    is_impossible: bool
    paragraph_id: str


def spread(items: Sequence[T], n: int | None) -> list[T]:
    """``n`` items evenly spaced over the list (all when ``n`` is None or large enough).

    Quick runs keep the file's mix (gold sets list their unanswerable questions last, SQuAD
    groups questions by paragraph), which taking the first ``n`` would not.
    """
    if n is None or n >= len(items):
        return list(items)
    return [items[(i * len(items)) // n] for i in range(n)]


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise ConfigError(f"{path}:{number}: expected a JSON object")
        yield number, record


def load_gold(path: Path) -> list[GoldItem]:
    """Read a gold set JSONL file (one question per line)."""
    items: list[GoldItem] = []
    seen: set[str] = set()
    for number, rec in _jsonl(Path(path)):
        where = f"{path}:{number}"
        try:
            item_id = str(rec["id"])
            question = str(rec["question"]).strip()
            answerable = bool(rec.get("answerable", True))
            relevant = tuple(
                GoldRef(str(r["source"]), str(r.get("locator", "")))
                for r in rec.get("relevant") or []
            )
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"{where}: missing or malformed field {exc}") from exc
        if not question:
            raise ConfigError(f"{where}: empty question")
        if item_id in seen:
            raise ConfigError(f"{where}: duplicate id {item_id!r}")
        if answerable and not relevant:
            raise ConfigError(f"{where}: an answerable question needs relevant units")
        seen.add(item_id)
        items.append(
            GoldItem(
                id=item_id,
                question=question,
                answer=str(rec.get("answer") or ""),
                aliases=tuple(str(a) for a in rec.get("aliases") or []),
                relevant=relevant,
                format=str(rec.get("format", "")),
                answerable=answerable,
            )
        )
    if not items:
        raise ConfigError(f"{path}: no questions")
    return items


def _qrels(path: Path) -> dict[str, dict[str, int]]:
    if not path.is_file():
        raise ConfigError(f"{path}: qrels file not found")
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        for row in reader:
            if len(row) < 3 or row[0] == "query-id":
                continue
            score = int(row[2])
            if score > 0:  # binary relevance: BEIR's judged-irrelevant rows carry 0
                qrels.setdefault(row[0], {})[row[1]] = score
    return qrels


def load_beir(folder: Path, split: str = "test", limit: int | None = None) -> BeirDataset:
    """Read ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``.

    ``limit`` keeps the first N judged queries (file order) for quick runs; the corpus stays whole
    so the scores stay comparable in kind.
    """
    folder = Path(folder)
    qrels = _qrels(folder / "qrels" / f"{split}.tsv")
    corpus = {
        str(rec["_id"]): (str(rec.get("title") or ""), str(rec.get("text") or ""))
        for _, rec in _jsonl(folder / "corpus.jsonl")
    }
    queries: dict[str, str] = {}
    for _, rec in _jsonl(folder / "queries.jsonl"):
        qid = str(rec["_id"])
        if qid in qrels:
            queries[qid] = str(rec["text"])
    if limit is not None:
        queries = dict(list(queries.items())[:limit])
    qrels = {qid: qrels[qid] for qid in queries}
    if not queries:
        raise ConfigError(f"{folder}: no judged queries for split {split!r}")
    return BeirDataset(name=folder.name, corpus=corpus, queries=queries, qrels=qrels)


def load_squad_answers(path: Path, limit: int | None = None) -> list[SquadItem]:
    """Read a SQuAD 2.0 ``answers.jsonl`` (a folder holding one is accepted too); ``limit``
    keeps that many questions spread evenly over the file."""
    path = Path(path)
    if path.is_dir():
        path = path / "answers.jsonl"
    items = []
    for number, rec in _jsonl(path):
        try:
            items.append(
                SquadItem(
                    id=str(rec["_id"]),
                    question=str(rec["question"]),
                    answers=tuple(str(a) for a in rec.get("answers") or []),
                    is_impossible=bool(rec["is_impossible"]),
                    paragraph_id=str(rec.get("paragraph_id", "")),
                )
            )
        except KeyError as exc:
            raise ConfigError(f"{path}:{number}: missing field {exc}") from exc
    return spread(items, limit)
