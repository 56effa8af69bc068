"""Retrieval modes on a real in-memory Chroma index embedded with the packaged MiniLM."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda

from rag.errors import ConfigError
from rag.retrieval.modes import (
    RETRIEVAL_MODES,
    HybridRetriever,
    RetrievedChunk,
    convex_fusion,
    reciprocal_rank_fusion,
    retrieve,
)
from rag.settings import Settings, StoreSettings
from rag.store.bm25 import get_bm25_cache
from rag.store.index import DocumentIndex

pytestmark = pytest.mark.slow

CORPUS = {
    "e104.txt": "Error E104: the water pump has run dry. Refill the tank, then restart the "
    "base station.",
    "e105.txt": "Error E105: the blade motor is overheating. Let the motor cool for thirty "
    "minutes.",
    "e140.txt": "Error E140: the rain sensor is blocked. Wipe the sensor with a dry cloth.",
    "e401.txt": "Error E401: the boundary wire signal is lost. Check the wire for breaks.",
    "reset.txt": "To reset the mower to factory settings, hold the power button for ten "
    "seconds until the lights flash.",
    "battery.txt": "The battery lasts about ninety minutes of mowing and charges fully in two "
    "hours.",
    "parts.txt": "Replacement blade kit, part number XR-2291, fits all M3 and M5X models.",
    "warranty.txt": "The warranty covers manufacturing defects for two years from the date of "
    "purchase.",
}
# Shares no word with reset.txt, so only the dense retriever can find it.
PARAPHRASE = "how do I restore the machine to its original configuration"


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        store=StoreSettings(mode="memory"),
        data_dir=tmp_path,
        cache_dir=tmp_path / "cache",
    )


def _write(folder: Path, files: dict[str, str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def _source_of(chunk: RetrievedChunk) -> str:
    return Path(str(chunk.doc.metadata["source"])).name


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory: pytest.TempPathFactory) -> DocumentIndex:
    """One shared, read-only index (tests that change documents build their own)."""
    folder = tmp_path_factory.mktemp("corpus")
    settings = _settings(folder)
    index = DocumentIndex(settings, collection=f"retrieval-{uuid.uuid4().hex[:8]}")
    report = index.ingest_paths(_write(folder / "docs", CORPUS))
    assert report.failed == 0, report.summary()
    return index


def _retrieve(index: DocumentIndex, query: str, mode: str, **kwargs) -> list[RetrievedChunk]:
    options = {"k": 4, "fetch_k": 8, "min_score": 0.0, **kwargs}
    return retrieve(index, query, mode=mode, settings=index.settings, **options)


# -- fusion arithmetic --------------------------------------------------------------------------
def test_reciprocal_rank_fusion_matches_hand_computed_scores() -> None:
    # k=10: a is dense #1 and bm25 #3; b dense #2 only; c dense #3 and bm25 #1; d bm25 #2 only.
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "d", "a"]], [1.0, 2.0], 10)
    expected = {
        "a": 1 / 11 + 2 / 13,  # 0.24476
        "c": 1 / 13 + 2 / 11,  # 0.25874
        "d": 2 / 12,  # 0.16667
        "b": 1 / 12,  # 0.08333
    }
    assert [item for item, _ in fused] == ["c", "a", "d", "b"]
    for item, score in fused:
        assert score == pytest.approx(expected[item], abs=1e-12)


def test_reciprocal_rank_fusion_breaks_ties_by_first_appearance_and_skips_repeats() -> None:
    fused = reciprocal_rank_fusion([["x", "y", "x"], ["y", "x"]], [1.0, 1.0], 60)
    # x: 1/61 + 1/62, y: 1/62 + 1/61 — equal; x was seen first. The repeated x counts once.
    assert [item for item, _ in fused] == ["x", "y"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([["x"]], [1.0, 1.0], 60)


def test_convex_fusion_matches_hand_computed_scores() -> None:
    # BM25 scaled by its best (8.0); a chunk BM25 did not find adds nothing; ids BM25 found
    # without a cosine are skipped.
    fused = convex_fusion({"a": 0.70, "b": 0.55, "c": 0.40}, {"c": 8.0, "a": 2.0, "z": 1.0},
                          0.6)
    expected = {"a": 0.6 * 0.70 + 0.4 * 0.25, "b": 0.6 * 0.55, "c": 0.6 * 0.40 + 0.4}
    assert [item for item, _ in fused] == ["c", "a", "b"]
    for item, score in fused:
        assert score == pytest.approx(expected[item], abs=1e-12)
    # Without any BM25 score the order is the cosine's; ties keep the cosines' order.
    assert convex_fusion({"x": 0.5, "y": 0.5}, {}, 0.6) == [("x", 0.3), ("y", 0.3)]


RELEASES = {
    "2.0.0": "a new release of the gizmo daemon was published with a redesigned plugin loader",
    "2.1.0": "this release of gizmo was published after the plugin loader gained hot reload",
    "2.2.0": "gizmo was released with faster startup and a quieter log by default",
    "2.3.0": "the gizmo release brought a new configuration format and migration notes",
    "3.0.0": "a major gizmo release: the old configuration format was removed",
    "3.1.0": "Bugfix: the fan curve ignored the minimum duty cycle on some boards",
    "3.2.0": "gizmo release with plugin sandboxing, published together with new docs",
}


def test_hybrid_puts_the_one_entry_holding_the_version_asked_first(tmp_path: Path) -> None:
    # Only one entry holds "3.1.0" (BM25's clear first hit) and it reads least like a release
    # note (dense ranks it last). Fused by scores it leads; fused by ranks it is second behind
    # an entry both lists rank in the middle: what convex fusion is the default for.
    settings = _settings(tmp_path)
    index = DocumentIndex(settings, collection=f"releases-{uuid.uuid4().hex[:8]}")
    index.ingest_paths(_write(tmp_path / "docs", {
        f"gizmo-{version}.txt": f"Changes with gizmo {version}\n\n{text}.\n"
        for version, text in RELEASES.items()
    }))
    question = "When was gizmo 3.1.0 released?"
    top = _retrieve(index, question, "hybrid", k=3, fetch_k=7)
    assert _source_of(top[0]) == "gizmo-3.1.0.txt"
    assert top[0].bm25_rank == 1 and top[0].dense_rank == 7

    rrf = settings.model_copy(deep=True)
    rrf.retrieval.fusion = "rrf"
    by_rank = retrieve(index, question, mode="hybrid", k=3, fetch_k=7, min_score=0.0,
                       settings=rrf)
    assert _source_of(by_rank[0]) != "gizmo-3.1.0.txt"


# -- modes ----------------------------------------------------------------------------------
def test_registry_names_the_four_modes_and_unknown_mode_lists_them(
    corpus_index: DocumentIndex,
) -> None:
    assert set(RETRIEVAL_MODES) == {"dense", "mmr", "bm25", "hybrid"}
    with pytest.raises(ConfigError) as caught:
        _retrieve(corpus_index, "E104", "sparse")
    for mode in RETRIEVAL_MODES:
        assert mode in str(caught.value)
    with pytest.raises(ConfigError):
        HybridRetriever(index=corpus_index, mode="sparse")


def test_keyword_query_is_top_for_bm25_and_hybrid_but_not_for_dense(
    corpus_index: DocumentIndex,
) -> None:
    dense = _retrieve(corpus_index, "E104", "dense")
    bm25 = _retrieve(corpus_index, "E104", "bm25")
    hybrid = _retrieve(corpus_index, "E104", "hybrid")

    assert _source_of(bm25[0]) == "e104.txt"
    assert len(bm25) == 1  # no other chunk contains the token
    assert _source_of(hybrid[0]) == "e104.txt"
    # MiniLM sees "E104" as much like "E105": dense alone puts the wrong error code first.
    assert _source_of(dense[0]) != "e104.txt"
    dense_position = [_source_of(c) for c in dense].index("e104.txt") + 1
    assert hybrid[0].dense_rank == dense_position
    assert hybrid[0].bm25_rank == 1
    assert hybrid[0].fused_rank == 1


def test_paraphrase_is_found_by_dense_and_hybrid_not_bm25(corpus_index: DocumentIndex) -> None:
    dense = _retrieve(corpus_index, PARAPHRASE, "dense")
    bm25 = _retrieve(corpus_index, PARAPHRASE, "bm25")
    hybrid = _retrieve(corpus_index, PARAPHRASE, "hybrid")

    assert _source_of(dense[0]) == "reset.txt"
    assert "reset.txt" not in [_source_of(c) for c in bm25]
    assert _source_of(hybrid[0]) == "reset.txt"
    assert hybrid[0].bm25_rank is None and hybrid[0].dense_rank == 1


def test_scores_and_ranks_per_mode(corpus_index: DocumentIndex) -> None:
    query = "error E104 pump"
    for mode in RETRIEVAL_MODES:
        chunks = _retrieve(corpus_index, query, mode)
        assert chunks, mode
        assert [c.fused_rank for c in chunks] == list(range(1, len(chunks) + 1))
        # The chain refuses on the best dense relevance: it must be known in every mode.
        assert all(c.dense_score is not None for c in chunks), mode
        assert all(c.doc.id and c.doc.metadata["chunk_id"] == c.doc.id for c in chunks)
    bm25 = _retrieve(corpus_index, query, "bm25")
    assert bm25[0].score == 1.0
    assert all(0 < c.score <= 1 for c in bm25)
    assert [c.bm25_score for c in bm25] == sorted((c.bm25_score for c in bm25), reverse=True)
    hybrid = _retrieve(corpus_index, query, "hybrid")
    assert [c.score for c in hybrid] == sorted((c.score for c in hybrid), reverse=True)
    dense = _retrieve(corpus_index, query, "dense")
    assert all(c.score == c.dense_score for c in dense)


def test_bm25_only_hits_get_the_cosine_of_their_stored_vector(
    corpus_index: DocumentIndex,
) -> None:
    # min_score=0.99 gates every dense vote, so the E104 chunk is a BM25-only hit.
    hybrid = _retrieve(corpus_index, "E104", "hybrid", min_score=0.99)
    dense = {_source_of(c): c.dense_score for c in _retrieve(corpus_index, "E104", "dense", k=8)}
    assert hybrid[0].dense_rank is None
    assert hybrid[0].dense_score == pytest.approx(dense["e104.txt"], abs=1e-4)


def test_hybrid_scores_a_dense_candidate_below_bm25s_top_list_by_its_own_bm25(
    corpus_index: DocumentIndex,
) -> None:
    # With fetch_k 2 BM25's list holds two chunks; a dense candidate ranked lower by BM25 still
    # shares words with the question and keeps that share of the fused score instead of 0.
    query = "error: the pump of the mower ran dry"
    hybrid = _retrieve(corpus_index, query, "hybrid", k=2, fetch_k=2)
    best = max(c.bm25_score or 0.0 for c in _retrieve(corpus_index, query, "bm25", k=1))
    below = [c for c in hybrid if c.bm25_rank is not None and c.bm25_rank > 2]
    assert below, [(c.dense_rank, c.bm25_rank) for c in hybrid]
    for c in hybrid:
        assert c.bm25_score is not None and c.bm25_score > 0
        assert c.score == pytest.approx(0.6 * c.dense_score + 0.4 * c.bm25_score / best, abs=1e-6)


def test_min_score_drops_weak_dense_hits(corpus_index: DocumentIndex) -> None:
    everything = _retrieve(corpus_index, "how long does a charge last", "dense", k=8)
    threshold = (everything[0].score + everything[1].score) / 2
    strong = _retrieve(
        corpus_index, "how long does a charge last", "dense", k=8, min_score=threshold
    )
    assert [_source_of(c) for c in strong] == ["battery.txt"]
    assert _retrieve(corpus_index, "recipe for chocolate cake", "dense", min_score=0.5) == []
    # MMR drops the same weak candidates before choosing.
    mmr = _retrieve(corpus_index, "how long does a charge last", "mmr", k=8, min_score=threshold)
    assert [_source_of(c) for c in mmr] == ["battery.txt"]


def test_min_score_does_not_apply_to_bm25_or_drop_bm25_hits_in_hybrid(
    corpus_index: DocumentIndex,
) -> None:
    bm25 = _retrieve(corpus_index, "E104", "bm25", min_score=0.99)
    assert [_source_of(c) for c in bm25] == ["e104.txt"]
    hybrid = _retrieve(corpus_index, "E104", "hybrid", min_score=0.99)
    assert [_source_of(c) for c in hybrid] == ["e104.txt"]
    assert hybrid[0].dense_rank is None  # the dense vote was gated by min_score
    assert hybrid[0].dense_score is not None and hybrid[0].dense_score < 0.99


def test_unrelated_question_has_low_dense_relevance_in_hybrid(
    corpus_index: DocumentIndex,
) -> None:
    chunks = _retrieve(corpus_index, "recipe for chocolate cake", "hybrid")
    assert max(c.dense_score for c in chunks) < 0.35  # below the chain's refusal threshold


def test_mmr_returns_k_diverse_results_when_duplicates_exist(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    index = DocumentIndex(settings, collection=f"mmr-{uuid.uuid4().hex[:8]}")
    duplicate = "The battery lasts about ninety minutes of mowing and charges in two hours."
    files = {f"copy{n}.txt": duplicate for n in range(3)}
    files |= {name: CORPUS[name] for name in ("reset.txt", "warranty.txt", "e105.txt")}
    assert index.ingest_paths(_write(tmp_path / "docs", files)).failed == 0

    question = "how long does the battery last"
    dense = _retrieve(index, question, "dense", k=3)
    assert len({c.doc.page_content for c in dense}) == 1  # plain similarity: three copies
    mmr = _retrieve(index, question, "mmr", k=3, fetch_k=6)
    assert len(mmr) == 3
    assert len({c.doc.page_content for c in mmr}) == 3
    assert mmr[0].doc.page_content == duplicate
    assert all(c.dense_score is not None and c.dense_rank is not None for c in mmr)


# -- staying in step with the store ----------------------------------------------------------
def test_bm25_follows_adds_replacements_and_deletes(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    index = DocumentIndex(settings, collection=f"follow-{uuid.uuid4().hex[:8]}")
    docs = tmp_path / "docs"
    index.ingest_paths(_write(docs, {name: CORPUS[name] for name in ("e104.txt", "reset.txt")}))
    assert _retrieve(index, "zircon gasket", "bm25") == []

    # Added: found with no explicit rebuild call.
    index.ingest_paths(_write(docs, {"gasket.txt": "Fit the zircon gasket before winter."}))
    found = _retrieve(index, "zircon gasket", "bm25")
    assert [_source_of(c) for c in found] == ["gasket.txt"]
    gasket_chunk = found[0].doc.id

    # Replaced: the old chunk id never comes back, the new text is found.
    index.ingest_paths(_write(docs, {"gasket.txt": "Fit the copper washer before winter."}))
    for mode in ("bm25", "hybrid"):
        for query in ("zircon gasket", "copper washer", "winter"):
            ids = [c.doc.id for c in _retrieve(index, query, mode, k=8)]
            assert gasket_chunk not in ids, (mode, query)
    assert [_source_of(c) for c in _retrieve(index, "copper washer", "bm25")] == ["gasket.txt"]

    # Deleted: none of its chunks is returned any more.
    e104_ids = {c.doc.id for c in _retrieve(index, "E104 pump", "bm25")}
    assert e104_ids
    index.delete(str(docs / "e104.txt"))
    for mode in ("bm25", "hybrid"):
        returned = {c.doc.id for c in _retrieve(index, "E104 pump tank", mode, k=8)}
        assert not returned & e104_ids, mode


# -- LangChain retriever -------------------------------------------------------------------
def test_hybrid_retriever_returns_documents_with_scores_and_ranks_in_lcel(
    corpus_index: DocumentIndex,
) -> None:
    retriever = HybridRetriever(index=corpus_index, k=2, fetch_k=8, settings=corpus_index.settings)
    chain = retriever | RunnableLambda(lambda docs: [d.metadata["source"] for d in docs])
    sources = chain.invoke("E104")
    assert len(sources) == 2 and Path(sources[0]).name == "e104.txt"

    docs = retriever.invoke("E104", k=1)
    assert len(docs) == 1 and isinstance(docs[0], Document)
    meta = docs[0].metadata
    assert meta["fused_rank"] == 1 and meta["bm25_rank"] == 1
    # Convex fusion (the default, dense share 0.6): the BM25 top hit adds 0.4 x 1.
    assert meta["score"] == pytest.approx(0.6 * meta["dense_score"] + 0.4)
    assert 0 < meta["dense_score"] < 1

    rrf = corpus_index.settings.model_copy(deep=True)
    rrf.retrieval.fusion = "rrf"
    meta = HybridRetriever(index=corpus_index, k=1, fetch_k=8, settings=rrf).invoke("E104")[0]
    assert meta.metadata["score"] == pytest.approx(
        1 / (60 + meta.metadata["dense_rank"]) + 1 / 61  # default weights 1.0, rrf_k 60
    )


def test_repeated_questions_do_not_rebuild_bm25(corpus_index: DocumentIndex) -> None:
    _retrieve(corpus_index, "E104", "hybrid")  # built (or already built by earlier tests)
    builds = get_bm25_cache().builds
    for query in ("E104", "battery", "warranty years", "XR-2291"):
        _retrieve(corpus_index, query, "bm25")
        _retrieve(corpus_index, query, "hybrid")
    assert get_bm25_cache().builds == builds
