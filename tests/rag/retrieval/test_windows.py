"""Re-reading the best hits past the embedding window, on a real in-memory index."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

from rag.retrieval import windows
from rag.retrieval.modes import retrieve
from rag.settings import EmbeddingSettings, RetrievalSettings, Settings, StoreSettings
from rag.store.index import DocumentIndex

pytestmark = pytest.mark.slow

# A chunk whose opening is about one thing and whose end answers the question: the stored
# vector (first 24 wordpieces here) reads only the opening.
DEEP = (
    "Seasonal notes for the allotment. Plant the early potatoes in trenches lined with "
    "compost, earth them up as the shoots appear, and water the beans every evening in a dry "
    "spell. The rotary lawnmower blade must be sharpened every forty hours of mowing."
)
OTHERS = {
    "cutter.txt": "Mowing tips: cut the grass high in summer and leave the clippings.",
    "hedges.txt": "Hedge trimmers need oil on the teeth after each use.",
    "shed.txt": "The shed roof felt is replaced every ten years.",
}
QUESTION = "How often should the mower blade be sharpened?"


def _index(tmp_path: Path, depth: int, hybrid: bool = False) -> DocumentIndex:
    settings = Settings(
        store=StoreSettings(mode="memory"), data_dir=tmp_path, cache_dir=tmp_path / "cache",
        embedding=EmbeddingSettings(backend="torch", max_tokens=24),
        retrieval=RetrievalSettings(rescore_depth=depth, rescore_hybrid=hybrid),
    )
    folder = tmp_path / "docs"
    folder.mkdir(parents=True)
    paths = []
    for name, text in {"allotment.txt": DEEP, **OTHERS}.items():
        (folder / name).write_text(text, encoding="utf-8")
        paths.append(folder / name)
    index = DocumentIndex(settings, collection=f"windows-{uuid.uuid4().hex[:8]}")
    assert index.ingest_paths(paths).failed == 0
    return index


def _ranked(index: DocumentIndex, mode: str) -> list:
    return retrieve(index, QUESTION, mode=mode, k=4, fetch_k=4, min_score=0.0,
                    settings=index.settings)


def test_a_chunk_answering_past_the_window_is_raised_to_its_best_windows_cosine(
    tmp_path: Path,
) -> None:
    plain = {Path(c.doc.metadata["source"]).name: c for c in _ranked(_index(tmp_path / "a", 0),
                                                                   "dense")}
    index = _index(tmp_path / "b", 4)
    reread = _ranked(index, "dense")
    deep = next(c for c in reread if c.doc.metadata["source"].endswith("allotment.txt"))
    assert index.embeddings.count_tokens(deep.doc.page_content) > 24  # longer than the window
    assert deep.dense_score > plain["allotment.txt"].dense_score
    assert deep.score == deep.dense_score
    assert [c.fused_rank for c in reread] == [1, 2, 3, 4]
    assert [c.score for c in reread] == sorted((c.score for c in reread), reverse=True)
    assert reread[0].doc.metadata["source"].endswith("allotment.txt")
    assert plain["allotment.txt"].fused_rank > 1  # the opening alone did not put it first
    # Short chunks fit in one window: nothing to re-read, their relevance unchanged.
    for c in reread:
        name = Path(c.doc.metadata["source"]).name
        if name in OTHERS:
            assert c.dense_score == pytest.approx(plain[name].dense_score, abs=1e-6)


def test_window_relevance_is_the_best_later_window_and_is_cached(tmp_path: Path) -> None:
    index = _index(tmp_path, 4)
    embeddings = index.embeddings
    docs = [c.doc for c in _ranked(index, "dense")]
    query = np.asarray(embeddings.embed_query(QUESTION))
    relevance = windows.later_window_relevance(embeddings, query, docs)
    for doc, value in zip(docs, relevance, strict=True):
        if not doc.metadata["source"].endswith("allotment.txt"):
            assert value is None
            continue
        header = str(doc.metadata.get("header") or "")
        read = max(24 - (embeddings.count_tokens(header) + 1 if header else 0), 0)
        pieces = embeddings.later_windows(doc.page_content, read=read, size=max(read, 12))
        texts = [f"{header}\n{p}" if header else p for p in pieces]
        expected = max(float(np.dot(v, query) / np.linalg.norm(query))
                       for v in embeddings.embed_documents(texts))
        assert value == pytest.approx(expected, abs=1e-5)
    cached = len(windows._window_vectors._vectors)
    assert cached >= 1
    again = windows.later_window_relevance(embeddings, query, docs)
    assert again == relevance
    assert len(windows._window_vectors._vectors) == cached  # nothing new embedded


def test_hybrid_re_reads_only_when_asked(tmp_path: Path) -> None:
    off = _ranked(_index(tmp_path / "off", 4, hybrid=False), "hybrid")
    on = _ranked(_index(tmp_path / "on", 4, hybrid=True), "hybrid")
    deep_off = next(c for c in off if c.doc.metadata["source"].endswith("allotment.txt"))
    deep_on = next(c for c in on if c.doc.metadata["source"].endswith("allotment.txt"))
    assert deep_on.dense_score > deep_off.dense_score
    assert deep_on.score > deep_off.score


def _packed(records: list[str]) -> tuple[str, list[tuple[int, int, str]]]:
    """A packed chunk's text (records joined by a blank line, as the chunker joins them) and
    each record's [start, end, locator] span."""
    text = "\n\n".join(records)
    spans, at = [], 0
    for n, record in enumerate(records, start=1):
        start = text.index(record, at)
        spans.append((start, start + len(record), f"/records/record[{n}]"))
        at = start + len(record)
    return text, spans


def test_packed_records_are_re_read_one_record_per_window(tmp_path: Path) -> None:
    from langchain_core.documents import Document

    from ingest.records import HEADER_KEY, RECORDS_KEY, encode_records
    from rag.store.embeddings import get_embeddings

    embeddings = get_embeddings(Settings(
        cache_dir=tmp_path / "cache", embedding=EmbeddingSettings(backend="torch", max_tokens=40),
    ))
    records = [
        "part [id=P-1]\nname: brass hinge\nfinish: polished\nstock: 40 boxes in aisle three",
        "part [id=P-2]\nname: oak dowel\nlength: 30 mm\nstock: 12 bags kept by the saw bench",
        "part [id=P-3]\nname: wood glue\ncure time: two hours at room temperature",
    ]
    text, spans = _packed(records)
    header = "workshop inventory"
    doc = Document(text, metadata={HEADER_KEY: header, RECORDS_KEY: encode_records(spans)})
    read = 40 - (embeddings.count_tokens(header) + 1)
    reach = embeddings.reach(text, read)
    assert 0 < reach < spans[1][1]  # the stored vector read the first record, not the second
    unread = [text[s:e] for s, e, _ in spans if e > reach]
    assert unread == records[1:]
    query = np.asarray(embeddings.embed_query("How long does the glue take to cure?"))
    (relevance,) = windows.later_window_relevance(embeddings, query, [doc])
    expected = [float(np.dot(v, query) / np.linalg.norm(query))
                for v in embeddings.embed_documents([f"{header}\n{r}" for r in unread])]
    assert relevance == pytest.approx(max(expected), abs=1e-5)
    # The glue record's own window is the best: no window joins the tail of one record to the
    # head of the next.
    assert max(expected) == expected[-1]


def test_unread_records_are_packed_whole_into_windows(tmp_path: Path) -> None:
    from rag.store.embeddings import get_embeddings

    embeddings = get_embeddings(Settings(
        cache_dir=tmp_path / "cache", embedding=EmbeddingSettings(backend="torch"),
    ))
    records = ["lamp [id=L1]\ncolour: red", "lamp [id=L2]\ncolour: green",
               "lamp [id=L3]\ncolour: blue and a long description " + "of glass " * 30]
    text, spans = _packed(records)
    small = max(embeddings.count_tokens(r) for r in records[:2])
    # Nothing read yet: the two short records share a window, the long one is alone; never
    # a window that starts or ends inside a record.
    packed = windows._record_windows(embeddings, text, spans, reach=0, size=2 * small + 2)
    assert packed == [text[spans[0][0]:spans[1][1]], records[2]]
    # The first record read whole by the stored vector is not read again.
    assert windows._record_windows(embeddings, text, spans, reach=spans[0][1],
                                   size=2 * small + 2) == [records[1], records[2]]
