"""BM25 over a collection's chunks: ranking, caching by index version, disk snapshots, threads."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
from langchain_core.documents import Document

import rag.store.bm25 as bm25_module
from rag.errors import StoreError
from rag.settings import RetrievalSettings, Settings, StoreSettings
from rag.store.bm25 import Bm25Cache, Bm25Index, related_terms
from rag.store.index import DocumentIndex
from rag.text import terms_of

CHUNKS = [
    Document("Error E104: the water pump has run dry.", id="c-e104"),
    Document("Error E105: the blade motor is overheating.", id="c-e105"),
    Document("Pumps and pumping: keep every pump primed.", id="c-pumps"),
    Document("The warranty covers defects for two years.", id="c-warranty"),
]


def _build(chunks: list[Document] = CHUNKS) -> Bm25Index:
    return Bm25Index.build(chunks, k1=0.9, b=0.4)


# -- the index itself (no store needed) ------------------------------------------------------
def test_tokens_are_lowercased_stemmed_and_free_of_stopwords() -> None:
    # bm25s "en" is the 33-word Lucene list the SciFact run used: "are" is in it, "were" not.
    assert terms_of(["The Pumps are PUMPING", "E104"]) == [["pump", "pump"], ["e104"]]


def test_versions_dates_and_codes_are_also_whole_tokens() -> None:
    assert terms_of(["Kiln 2.4.1 shipped 2023-05-09; code HB-2."]) == [
        ["kiln", "ship", "2023", "05", "09", "code", "hb", "2.4.1", "2023-05-09", "hb-2"]]
    notes = [Document(f"Release {v}\n\nRelease date: {d}. Fixes from the previous release.",
                      id=f"c-{v}") for v, d in (("7.10", "2024-02-01"), ("7.1", "2023-03-09"),
                                                ("7.11", "2024-05-02"))]
    # "7.1" and "7.10" used to be the same token ("7" is too short, "1"/"10" too): now the
    # release named in the question is the first hit.
    assert _build(notes).search("When did release 7.1 come out?", 3)[0].chunk_id == "c-7.1"


def test_underscores_separate_words_so_record_keys_match_the_words_asked() -> None:
    assert terms_of(["ip_rating: IPX6"]) == [["ip", "rate", "ipx6"]]
    records = [
        Document("physical.ip_rating: IPX6\nphysical.weight: 13.6 kg", id="c-m5x"),
        Document("Rate the app in the store.", id="c-app"),
    ]
    hits = _build(records).search("What is the IP rating?", k=2)
    assert [h.chunk_id for h in hits] == ["c-m5x", "c-app"]  # "ip" and "rate" beat "rate"


def test_exact_token_ranks_first_and_unrelated_chunks_are_not_hits() -> None:
    hits = _build().search("E104", k=10)
    assert [h.chunk_id for h in hits] == ["c-e104"]
    assert hits[0].score > 0 and hits[0].doc.page_content.startswith("Error E104")


def test_stemming_matches_word_forms_and_more_matches_rank_higher() -> None:
    hits = _build().search("pumping", k=10)
    # "pump" occurs three times in c-pumps and once in c-e104.
    assert [h.chunk_id for h in hits] == ["c-pumps", "c-e104"]
    assert hits[0].score > hits[1].score


def test_hits_carry_their_rank_and_also_adds_lower_ranked_chunks_asked_for() -> None:
    bm25 = _build()
    top = bm25.search("pump error", k=1)
    assert [(h.chunk_id, h.rank) for h in top] == [("c-e104", 1)]
    # Asked for by id, lower-ranked chunks follow the top k with their own scores and ranks;
    # an id sharing no term with the query (or unknown) is not a hit and is left out.
    more = bm25.search("pump error", k=1, also=["c-e105", "c-warranty", "c-pumps", "gone"])
    assert [(h.chunk_id, h.rank) for h in more] == [("c-e104", 1), ("c-pumps", 2),
                                                   ("c-e105", 3)]
    whole = bm25.search("pump error", k=10)
    assert [(h.chunk_id, h.score) for h in more] == [(h.chunk_id, h.score) for h in whole]
    # An id already among the top k is not repeated.
    assert [h.chunk_id for h in bm25.search("pump error", k=1, also=["c-e104"])] == ["c-e104"]


def test_k_limits_hits_and_empty_inputs_give_nothing() -> None:
    bm25 = _build()
    assert len(bm25.search("error pump", k=1)) == 1
    assert bm25.search("the and of", k=5) == []  # stopwords only
    assert bm25.search("zebra", k=5) == []
    assert _build([]).search("pump", k=5) == []
    assert _build([Document("the of and", id="x")]).search("the", k=5) == []


def test_a_chunk_without_id_is_refused() -> None:
    with pytest.raises(StoreError):
        _build([Document("no id here")])


# -- the cache over a real index -------------------------------------------------------------
def _settings(tmp_path: Path, mode: str = "memory", **retrieval: float) -> Settings:
    return Settings(
        store=StoreSettings(mode=mode, path=tmp_path / "index"),
        retrieval=RetrievalSettings(**retrieval),
        data_dir=tmp_path,
        cache_dir=tmp_path / "cache",
    )


def _ingest(index: DocumentIndex, folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    report = index.ingest_paths([folder / name for name in files])
    assert report.failed == 0, report.summary()


@pytest.mark.slow
def test_cache_rebuilds_only_when_the_index_version_changes(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    index = DocumentIndex(settings, collection=f"bm25-{uuid.uuid4().hex[:8]}")
    _ingest(index, tmp_path / "docs", {"a.txt": "Error E104: the water pump has run dry."})
    cache = Bm25Cache()

    assert [h.doc.metadata["source"] for h in cache.search(index, "E104", 5, settings)]
    for _ in range(5):
        cache.search(index, "pump", 5, settings)
    assert cache.builds == 1

    _ingest(index, tmp_path / "docs", {"b.txt": "Fit the zircon gasket before winter."})
    assert len(cache.search(index, "zircon", 5, settings)) == 1
    assert cache.builds == 2
    cache.search(index, "zircon", 5, settings)
    assert cache.builds == 2

    # Other BM25 parameters are another index, built once as well.
    tuned = _settings(tmp_path, bm25_k1=1.5, bm25_b=0.75)
    cache.search(index, "zircon", 5, tuned)
    cache.search(index, "zircon", 5, tuned)
    assert cache.builds == 3


@pytest.mark.slow
def test_concurrent_first_queries_build_once(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    index = DocumentIndex(settings, collection=f"bm25-{uuid.uuid4().hex[:8]}")
    _ingest(index, tmp_path / "docs", {"a.txt": "Error E104: the water pump has run dry."})
    cache = Bm25Cache()
    results: list[list[str]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def ask() -> None:
        try:
            start.wait()
            results.append([h.chunk_id for h in cache.search(index, "pump", 5, settings)])
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert cache.builds == 1
    assert len(results) == 8 and all(r == results[0] and r for r in results)


@pytest.mark.slow
def test_disk_store_snapshot_survives_a_restart_and_is_replaced_on_change(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path, mode="disk")
    index = DocumentIndex(settings, collection=f"bm25-{uuid.uuid4().hex[:8]}")
    _ingest(index, tmp_path / "docs", {"a.txt": "Error E104: the water pump has run dry."})

    first = Bm25Cache()
    before = [(h.chunk_id, h.score) for h in first.search(index, "pump", 5, settings)]
    assert first.builds == 1
    snapshots = list((tmp_path / "cache" / "bm25").iterdir())
    assert len(snapshots) == 1 and snapshots[0].name.startswith(index.name + "-")

    restarted = Bm25Cache()  # a new process: empty memory, same cache folder
    after = [(h.chunk_id, h.score) for h in restarted.search(index, "pump", 5, settings)]
    assert (restarted.builds, restarted.loads) == (0, 1)
    assert after == before

    _ingest(index, tmp_path / "docs", {"a.txt": "Fit the zircon gasket before winter."})
    assert restarted.search(index, "pump", 5, settings) == []
    assert [h.doc.metadata["source"] for h in restarted.search(index, "zircon", 5, settings)]
    assert restarted.builds == 1
    remaining = list((tmp_path / "cache" / "bm25").iterdir())
    assert len(remaining) == 1 and remaining != snapshots  # the stale snapshot is gone


@pytest.mark.slow
def test_a_snapshot_saved_by_other_tokenizer_rules_is_not_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path, mode="disk")
    index = DocumentIndex(settings, collection=f"bm25-{uuid.uuid4().hex[:8]}")
    _ingest(index, tmp_path / "docs", {"a.txt": "Error E104: the water pump has run dry."})
    Bm25Cache().search(index, "pump", 5, settings)
    (old,) = (tmp_path / "cache" / "bm25").iterdir()

    monkeypatch.setattr(bm25_module, "TOKENIZER_VERSION", bm25_module.TOKENIZER_VERSION + 1)
    cache = Bm25Cache()
    assert len(cache.search(index, "pump", 5, settings)) == 1
    assert (cache.builds, cache.loads) == (1, 0)
    (new,) = (tmp_path / "cache" / "bm25").iterdir()
    assert new != old  # replaced, not kept beside it


@pytest.mark.slow
def test_damaged_snapshot_is_rebuilt(tmp_path: Path) -> None:
    settings = _settings(tmp_path, mode="disk")
    index = DocumentIndex(settings, collection=f"bm25-{uuid.uuid4().hex[:8]}")
    _ingest(index, tmp_path / "docs", {"a.txt": "Error E104: the water pump has run dry."})
    Bm25Cache().search(index, "pump", 5, settings)
    (snapshot,) = (tmp_path / "cache" / "bm25").iterdir()
    (snapshot / "chunks.jsonl").write_text("", encoding="utf-8")  # truncated by a crash

    cache = Bm25Cache()
    assert len(cache.search(index, "pump", 5, settings)) == 1
    assert (cache.builds, cache.loads) == (1, 0)


def test_related_terms_join_forms_of_one_word_the_stemmer_leaves_apart():
    index = Bm25Index.build(
        [Document("Weight 9.4 kg. Delivery takes a long time. Store it dry.", id="c0")],
        k1=1.2, b=0.75,
    )
    # "weigh" / "weight", "delivered" / "delivery", "longest" / "long": one word each.
    for word in ("weigh", "delivered", "longest", "stores"):
        (token,) = terms_of([word])[0]
        assert index.has_related_term(token), word
    # Not a form of any word there; nor a short token that merely begins one ("wei", "del").
    for token in ("employe", "wei", "del", "weightless"):
        assert not index.has_related_term(token), token
    assert related_terms("weigh", {"weight", "weighbridge"}, ["weighbridge", "weight"]) == [
        "weight"
    ]


def test_names_and_codes_are_held_whole():
    index = Bm25Index.build(
        [Document("Harbor Base HB-2, case BRS-24781, MartenOS 4.3.0, MRT-M3-EU, "
                  "SESSION_COOKIE_AGE.", id="c0")],
        k1=1.2, b=0.75,
    )
    for literal in ("HB-2", "brs-24781", "4.3.0", "mrt-m3-eu", "session_cookie_age"):
        assert index.has_literal(literal), literal
    for literal in ("hb-3", "4.3", "m3", "session_cookie"):
        assert not index.has_literal(literal), literal


def test_deleting_a_document_leaves_no_snapshot_holding_its_text(tmp_path: Path) -> None:
    settings = _settings(tmp_path, mode="disk")
    index = DocumentIndex(settings, collection=f"bm25-{uuid.uuid4().hex[:8]}")
    _ingest(index, tmp_path / "docs", {"a.txt": "The vault code is 7719.",
                                       "b.txt": "Fit the zircon gasket before winter."})
    Bm25Cache().search(index, "vault", 5, settings)
    snapshots = tmp_path / "cache" / "bm25"
    assert any("7719" in p.read_text() for p in snapshots.rglob("chunks.jsonl"))
    index.delete(str(tmp_path / "docs" / "a.txt"))
    assert not any("7719" in p.read_text() for p in snapshots.rglob("chunks.jsonl"))
    assert Bm25Cache().search(index, "vault", 5, settings) == []  # rebuilt without it
