"""Shared by the reliability tests: a generated corpus, ``python -m rag`` as a real subprocess,
and one consistency check of an index (registry vs chunks vs BM25)."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rag.settings import ChunkSettings, IngestSettings, Settings, StoreSettings
from rag.store.index import DocumentIndex

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
CHUNK_TOKENS = 64  # small chunks: many chunks (and commits) from a small, fast corpus

_WORDS = (
    "valve pump filter boiler gasket turbine rotor sensor relay fuse cable bracket hinge "
    "lever spring piston nozzle bearing shaft clutch brake chain pulley gear wheel axle "
    "descale calibrate inspect replace tighten lubricate flush drain vent seal align"
).split()


def _sentence(rng: random.Random, topic: str) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 16))]
    return f"The {topic} {' '.join(words)} code {rng.randint(100, 999)}."


def _paragraph(rng: random.Random, topic: str, sentences: int) -> str:
    return " ".join(_sentence(rng, topic) for _ in range(sentences))


def make_corpus(folder: Path, files: int = 40, seed: int = 7, prefix: str = "") -> list[Path]:
    """``files`` small documents in six formats (plus the sample PDF), same seed same bytes."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for n in range(files):
        topic = f"{prefix}unit{n:02d}"
        kind = n % 6
        if kind == 0:
            path = folder / f"{prefix}doc{n:02d}.md"
            sections = [f"## Part {s}\n\n{_paragraph(rng, topic, 3)}" for s in range(2)]
            path.write_text(f"# Manual {topic}\n\n" + "\n\n".join(sections), encoding="utf-8")
        elif kind == 1:
            path = folder / f"{prefix}doc{n:02d}.txt"
            path.write_text("\n\n".join(_paragraph(rng, topic, 3) for _ in range(2)), "utf-8")
        elif kind == 2:
            path = folder / f"{prefix}doc{n:02d}.html"
            body = "".join(
                f"<h2 id='s{s}'>Step {s}</h2><p>{_paragraph(rng, topic, 3)}</p>" for s in range(2)
            )
            path.write_text(f"<html><head><title>{topic}</title></head><body>{body}</body>"
                            "</html>", encoding="utf-8")
        elif kind == 3:
            path = folder / f"{prefix}doc{n:02d}.json"
            items = [{"id": i, "text": _paragraph(rng, topic, 2)} for i in range(3)]
            path.write_text(json.dumps({"title": topic, "items": items}), encoding="utf-8")
        elif kind == 4:
            path = folder / f"{prefix}doc{n:02d}.jsonl"
            rows = [json.dumps({"n": i, "note": _paragraph(rng, topic, 2)}) for i in range(3)]
            path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        else:
            path = folder / f"{prefix}doc{n:02d}.xml"
            records = "".join(
                f"<entry><text>{_paragraph(rng, topic, 2)}</text></entry>" for _ in range(3)
            )
            path.write_text(f"<log>{records}</log>", encoding="utf-8")
        written.append(path)
    pdf = folder / f"{prefix}sample.pdf"
    shutil.copy(DATA / "sample.pdf", pdf)
    written.append(pdf)
    return written


# -- settings and subprocesses ---------------------------------------------------------------
def disk_settings(root: Path, index: Path, collection: str = "documents") -> Settings:
    return Settings(
        data_dir=root / "data",
        cache_dir=root / "cache",
        store=StoreSettings(mode="disk", path=index, collection=collection),
        chunking=ChunkSettings(chunk_tokens=CHUNK_TOKENS, overlap_tokens=0),
        ingest=IngestSettings(upload_dir=root / "uploads"),
    )


def rag_env(root: Path, index: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``python -m rag`` child: everything under ``root``, offline."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "TOKENIZERS_PARALLELISM": "false",
        "RAG_STORE__MODE": "disk",
        "RAG_STORE__PATH": str(index),
        "RAG_DATA_DIR": str(root / "data"),
        "RAG_CACHE_DIR": str(root / "cache"),
        "RAG_INGEST__UPLOAD_DIR": str(root / "uploads"),
        "RAG_CHUNKING__CHUNK_TOKENS": str(CHUNK_TOKENS),
        "RAG_CHUNKING__OVERLAP_TOKENS": "0",
        # Small embedding passes spread the per-file commits over time, so a kill lands
        # between commits however fast the machine is.
        "RAG_INGEST__FLUSH_CHUNKS": "8",
        **extra,
    }


def run_rag(cwd: Path, env: dict[str, str], *args: str, timeout: float = 300):
    return subprocess.run(
        [sys.executable, "-m", "rag", *args], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=timeout,
    )


_PROGRESS = re.compile(r"(\d+)/(\d+) \[[^\]]*(?:file/s|s/file)")  # not the "Loading weights" bar
_CHUNKS = re.compile(r"(\d+) chunks,")


@dataclass
class ProgressWatch:
    """Reads a child's tqdm bar (stderr) as it is drawn: files settled and chunks so far."""

    files_done: int = 0
    chunks_done: int = 0
    text: str = ""

    def follow(self, stream) -> threading.Thread:
        def pump() -> None:
            buffer = b""
            while True:
                block = stream.read1(512)
                if not block:
                    return
                buffer += block
                self.text += block.decode("utf-8", "replace")
                *frames, buffer = re.split(rb"[\r\n]", buffer)
                for frame in frames:
                    line = frame.decode("utf-8", "replace")
                    if match := _PROGRESS.search(line):
                        self.files_done = int(match.group(1))
                    if match := _CHUNKS.search(line):
                        self.chunks_done = int(match.group(1))

        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        return thread


def wait_until(condition, timeout: float, process: subprocess.Popen | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if process is not None and process.poll() is not None:
            return False
        time.sleep(0.02)
    return False


# -- consistency -----------------------------------------------------------------------------
@dataclass(frozen=True)
class IndexState:
    """What a finished index holds: per source, its chunk count and the set of chunk ids."""

    chunks_by_source: dict[str, int]
    ids_by_source: dict[str, frozenset[str]]
    total_chunks: int


def check_consistent(index: DocumentIndex) -> IndexState:
    """Assert the index invariants the crash and concurrency tests rely on.

    Every registered document has exactly the chunks its record counts, with chunk_index
    0..n-1 once each; there is no chunk without a registry record (orphan) and no duplicate id.
    """
    documents = {d.doc_id: d for d in index.list_documents()}
    chunks = list(index.iter_chunks())
    ids = [c.id for c in chunks]
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    assert not duplicates, f"duplicate chunk ids: {duplicates[:5]}"
    by_doc: dict[str, list] = {}
    for chunk in chunks:
        by_doc.setdefault(str(chunk.metadata["doc_id"]), []).append(chunk)
    orphans = sorted(set(by_doc) - set(documents))
    assert not orphans, f"chunks without a registry record (half-ingested): {orphans}"
    for doc_id, info in documents.items():
        mine = by_doc.get(doc_id, [])
        assert len(mine) == info.chunks, (info.source, len(mine), info.chunks)
        positions = sorted(int(c.metadata["chunk_index"]) for c in mine)
        assert positions == list(range(info.chunks)), (info.source, positions)
        assert {c.metadata["source"] for c in mine} <= {info.source}
    assert index.count() == len(chunks)
    return IndexState(
        chunks_by_source={d.source: d.chunks for d in documents.values()},
        ids_by_source={
            d.source: frozenset(str(c.id) for c in by_doc.get(d.doc_id, []))
            for d in documents.values()
        },
        total_chunks=len(chunks),
    )


def check_bm25_matches_store(index: DocumentIndex, settings: Settings, queries: list[str]) -> int:
    """Every BM25 hit names a chunk the store holds; returns how many hits were checked."""
    from rag.store.bm25 import bm25_search

    stored = {str(c.id) for c in index.iter_chunks()}
    checked = 0
    for query in queries:
        hits = bm25_search(index, query, k=50, settings=settings)
        missing = [h.chunk_id for h in hits if h.chunk_id not in stored]
        assert not missing, f"BM25 returned chunks the store does not hold: {missing[:5]}"
        checked += len(hits)
    return checked
