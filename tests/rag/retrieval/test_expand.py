"""Neighbour expansion over a real index (memory mode, packaged embedding model).

The documents are numbered short sentences ("Alpha 7 is grove.") chunked small with an overlap,
so a window's content, order and de-duplicated overlap can be read off the numbers.
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest
from langchain_core.documents import Document

from ingest import ParseLimits, parse_bytes
from rag.answer.chain import ChatService
from rag.answer.reply import AskRequest
from rag.errors import ConfigError
from rag.retrieval.expand import expand_neighbours, join_overlapping, overlap_length
from rag.retrieval.modes import RetrievedChunk
from rag.settings import AnswerSettings, ChunkSettings, Settings, StoreSettings
from rag.store.index import DocumentIndex
from tests.rag.answer.test_chain import scripted
from tests.rag.conftest import unique_collection

TREES = ["amber", "birch", "cedar", "dune", "elm", "fern", "grove", "heath", "iris", "juniper",
         "kelp", "larch", "maple", "nettle", "oak", "pine"]


def _sentences(label: str, count: int) -> str:
    return " ".join(f"{label} {i} is {tree}." for i, tree in enumerate(TREES[:count], start=1))


GUIDE = f"# Guide\n\n## Alpha\n\n{_sentences('Alpha', 16)}\n\n## Beta\n\n{_sentences('Beta', 10)}\n"
NOTES = _sentences("Gamma", 12) + "\n"
# 24-token chunks of ~6-token sentences with a 10-token overlap: each chunk repeats the last
# one or two sentences of the chunk before it.
CHUNKING = ChunkSettings(chunk_tokens=24, overlap_tokens=10)
ALPHA, BETA = "Guide > Alpha", "Guide > Beta"


@pytest.fixture(scope="module")
def index(tmp_path_factory, embeddings) -> DocumentIndex:
    folder: Path = tmp_path_factory.mktemp("expand-docs")
    (folder / "guide.md").write_text(GUIDE, encoding="utf-8")
    (folder / "notes.txt").write_text(NOTES, encoding="utf-8")
    settings = Settings(
        store=StoreSettings(mode="memory", collection=unique_collection()), chunking=CHUNKING
    )
    idx = DocumentIndex(settings, embeddings=embeddings)
    report = idx.ingest_paths([folder])
    assert report.failed == 0
    return idx


def _chunks(index: DocumentIndex, name: str) -> list[Document]:
    doc_id = next(d.doc_id for d in index.list_documents() if d.source.endswith(name))
    return index.get_chunks(doc_id)


@pytest.fixture(scope="module")
def guide(index) -> list[Document]:
    return _chunks(index, "guide.md")


@pytest.fixture(scope="module")
def notes(index) -> list[Document]:
    return _chunks(index, "notes.txt")


def _hit(doc: Document, rank: int) -> RetrievedChunk:
    return RetrievedChunk(doc, 1.0 / rank, rank, None, rank, 0.9 - rank / 100, None)


def _numbers(label: str, text: str) -> list[int]:
    return [int(n) for n in re.findall(rf"{label} (\d+) is", text)]


def _first_with(chunks: list[Document], sentence: str) -> Document:
    return next(c for c in chunks if sentence in c.page_content)


def _normalised(text: str) -> str:
    return " ".join(text.split())


def test_the_test_documents_make_overlapping_chunks_in_two_sections(guide):
    assert {c.metadata["locator"] for c in guide} == {ALPHA, BETA}
    alpha = [c for c in guide if c.metadata["locator"] == ALPHA]
    assert len(alpha) >= 6
    shared = [
        set(_numbers("Alpha", a.page_content)) & set(_numbers("Alpha", b.page_content))
        for a, b in pairwise(alpha)
    ]
    assert sum(1 for s in shared if s) >= 3  # the overlap these tests are about exists


def test_window_holds_the_neighbours_in_reading_order(index, guide):
    middle = _first_with(guide, "Alpha 7 is")
    position = middle.metadata["chunk_index"]
    [window] = expand_neighbours(index, [_hit(middle, 1)], 1)
    before, after = guide[position - 1], guide[position + 1]
    numbers = _numbers("Alpha", window.doc.page_content)
    expected = sorted(set().union(*(_numbers("Alpha", c.page_content)
                                     for c in (before, middle, after))))
    assert numbers == expected  # every sentence of the three chunks, in order, once
    assert window.doc.metadata["window_start"] == position - 1
    assert window.doc.metadata["window_end"] == position + 1


def test_overlap_between_chunks_is_kept_once(index, guide):
    middle = _first_with(guide, "Alpha 7 is")
    [window] = expand_neighbours(index, [_hit(middle, 1)], 10)
    unit = next(
        u for u in parse_bytes(GUIDE.encode(), "guide.md", ParseLimits.from_megabytes(1)).units
        if u.metadata["locator"] == ALPHA
    )
    # The whole section again without a repeated sentence; its heading line alone was no
    # informative chunk, the section's name is in every chunk's header instead.
    body = unit.page_content.split("\n", 1)[1]
    assert _normalised(window.doc.page_content) == _normalised(body)
    assert window.doc.metadata["header"].endswith(ALPHA)


def test_window_never_leaves_its_section(index, guide):
    first_beta = _first_with(guide, "Beta 1 is")
    last_alpha = _first_with(guide, "Alpha 16 is")
    beta_window, alpha_window = expand_neighbours(
        index, [_hit(first_beta, 1), _hit(last_alpha, 2)], 3
    )
    assert "Alpha" not in beta_window.doc.page_content
    assert _numbers("Beta", beta_window.doc.page_content)[0] == 1
    assert "Beta" not in alpha_window.doc.page_content
    assert alpha_window.doc.metadata["locator"] == ALPHA
    assert beta_window.doc.metadata["locator"] == BETA


def test_window_never_leaves_its_document(index, guide, notes):
    # chunk_index restarts at 0 in every file: the same positions exist in both documents.
    hit = notes[2]
    [window] = expand_neighbours(index, [_hit(hit, 1)], 3)
    assert "Alpha" not in window.doc.page_content and "Beta" not in window.doc.page_content
    assert _numbers("Gamma", window.doc.page_content)[0] == 1
    assert window.doc.metadata["source"] == hit.metadata["source"]


def test_first_and_last_chunks_expand_on_one_side_only(index, notes):
    first, last = notes[0], notes[-1]
    head, tail = expand_neighbours(index, [_hit(first, 1), _hit(last, 2)], 1)
    assert (head.doc.metadata["window_start"], head.doc.metadata["window_end"]) == (0, 1)
    assert head.doc.page_content == join_overlapping([notes[0].page_content,
                                                      notes[1].page_content])
    end = last.metadata["chunk_index"]
    assert (tail.doc.metadata["window_start"], tail.doc.metadata["window_end"]) == (end - 1, end)
    assert _numbers("Gamma", tail.doc.page_content)[-1] == 12


def test_windows_sharing_a_chunk_merge_and_keep_the_better_hit(index, guide):
    alpha = [c for c in guide if c.metadata["locator"] == ALPHA]
    a, b, c = alpha[1], alpha[4], alpha[2]  # windows of a and b (n=1) do not meet; c joins them
    beta = _first_with(guide, "Beta 5 is")
    hits = [_hit(a, 1), _hit(b, 2), _hit(beta, 3)]
    separate = expand_neighbours(index, hits, 1)
    assert [w.fused_rank for w in separate] == [1, 2, 3]

    merged = expand_neighbours(index, [*hits, _hit(c, 4)], 1)
    assert [w.fused_rank for w in merged] == [1, 3]
    first = merged[0]
    assert first.score == hits[0].score and first.dense_score == hits[0].dense_score
    assert first.doc.id == a.id and first.doc.metadata["chunk_id"] == a.metadata["chunk_id"]
    start, end = a.metadata["chunk_index"] - 1, b.metadata["chunk_index"] + 1
    assert (first.doc.metadata["window_start"], first.doc.metadata["window_end"]) == (start, end)
    numbers = _numbers("Alpha", first.doc.page_content)
    assert numbers == sorted(set(numbers))  # one passage, in order, nothing twice


def test_zero_neighbours_is_the_identity(index, guide):
    hits = [_hit(guide[3], 1), _hit(guide[4], 2)]
    out = expand_neighbours(index, hits, 0)
    assert out == hits and all(o is h for o, h in zip(out, hits, strict=True))


def test_hit_without_a_position_passes_through(index, guide):
    loose = _hit(Document("A record with no chunk metadata.", metadata={"source": "x"}), 1)
    out = expand_neighbours(index, [loose, _hit(guide[3], 2)], 1)
    assert out[0] is loose
    assert out[1].doc.metadata["window_end"] == guide[3].metadata["chunk_index"] + 1


def test_negative_neighbours_are_refused(index, guide):
    with pytest.raises(ConfigError):
        expand_neighbours(index, [_hit(guide[3], 1)], -1)


class _CountingCollection:
    """The real collection, counting reads."""

    def __init__(self, collection) -> None:
        self._collection = collection
        self.gets = 0

    def get(self, **kwargs):
        self.gets += 1
        return self._collection.get(**kwargs)

    def __getattr__(self, name):
        return getattr(self._collection, name)


def test_one_store_read_per_question(index, guide, notes):
    real = index.collection
    counting = _CountingCollection(real)
    index.collection = counting
    try:
        windows = expand_neighbours(index, [_hit(guide[2], 1), _hit(notes[-1], 2),
                                            _hit(guide[10], 3)], 2)
    finally:
        index.collection = real
    assert counting.gets == 1
    assert len(windows) == 3


def test_overlap_detection_rejects_coincidences():
    assert overlap_length("Alpha 1 is amber. Alpha 2 is birch.",
                          "Alpha 2 is birch. Alpha 3 is cedar.") == len("Alpha 2 is birch.")
    # A heading chunk is not an overlap of the text that repeats its word.
    assert overlap_length("Battery", "Battery capacity is 5.2 Ah.") == 0
    assert join_overlapping(["Battery", "Battery capacity is 5.2 Ah."]) == (
        "Battery\nBattery capacity is 5.2 Ah."
    )
    # Nor is a word that merely starts the same way.
    assert overlap_length("Fold it along the", "their edges meet.") == 0
    assert overlap_length("Press the button.", "Then wait.") == 0


# -- through the answer chain ---------------------------------------------------------------
def _service(index, model, backend: str, neighbours: int) -> ChatService:
    settings = index.settings.model_copy(
        update={
            "answer": AnswerSettings(refuse=False, reply="generate"),
            "llm": index.settings.llm.model_copy(update={"backend": backend}),
            "retrieval": index.settings.retrieval.model_copy(
                update={"expand_neighbours": neighbours}
            ),
        }
    )
    return ChatService(index, chat_model=model, settings=settings)


QUESTION = "Which tree is Alpha 9?"


def test_chain_hands_whole_windows_to_a_large_model(index, guide):
    model = scripted("iris [1]", "iris [1]")
    plain = _service(index, model, "openai", 0).ask(AskRequest(QUESTION, k=2))
    expanded = _service(index, model, "openai", 1).ask(AskRequest(QUESTION, k=2))
    plain_prompt, expanded_prompt = (m[-1].content for m in model.sent)

    assert [s.chunk_id for s in expanded.sources] == [
        s.chunk_id for s in plain.sources[: len(expanded.sources)]
    ]
    by_id = {c.id: c for c in guide}
    for source in expanded.sources:
        hit = by_id[source.chunk_id]
        assert source.locator == hit.metadata["locator"]  # the citation is the hit's unit
        assert _normalised(hit.page_content) in _normalised(source.snippet)
        assert len(source.snippet) > len(hit.page_content)
        assert _normalised(source.snippet) in expanded_prompt
    assert len(expanded_prompt) > len(plain_prompt)


def test_chain_picks_sentences_from_windows_for_the_small_model(index, guide):
    model = scripted("iris [1]")
    answer = _service(index, model, "local", 2).ask(AskRequest(QUESTION, k=2))
    prompt = model.sent[0][-1].content
    by_id = {c.id: c for c in guide}
    highlighted = 0
    for source in answer.sources:
        assert source.locator == by_id[source.chunk_id].metadata["locator"]
        for start, end in source.highlights:
            # The highlight is in the window shown as the snippet, and is what the model saw.
            assert f"[{source.number}] {_normalised(source.snippet[start:end])}" in prompt
            highlighted += 1
    assert highlighted >= 1
