"""End-to-end harness runs: real ingestion into an in-memory store with the packaged embedder."""

import json

import pytest

from rag.eval.cli import main
from rag.eval.datasets import load_beir, load_gold
from rag.eval.runs import run_beir, run_gold
from rag.settings import Settings
from tests.rag.eval.conftest import write_jsonl

pytestmark = pytest.mark.slow

DOCS = [
    ("d0", "Cats", "Cats are small domesticated felines that purr and hunt mice."),
    ("d1", "Rust", "Rust is a systems programming language with ownership and borrowing."),
    ("d2", "Volcano", "A volcano erupts molten lava, ash and volcanic gases."),
    ("d3", "Bread", "Bread is baked from flour, water, salt and yeast."),
    ("d4", "Moon", "The Moon orbits the Earth roughly every 27 days."),
]


def _settings():
    return Settings(store={"mode": "memory"})


def test_gold_run_scores_right_and_wrong_locators(gold_case):
    gold, corpus = gold_case
    run = run_gold(load_gold(gold), corpus, ["dense", "bm25", "hybrid"], _settings())
    assert "1 ingested" in run.ingest
    assert [s.mode for s in run.retrieval.summaries] == ["dense", "bm25", "hybrid"]
    by_query = {(r.query_id, r.mode): r for r in run.retrieval.per_query}
    assert len(by_query) == 6  # the unanswerable question is not a retrieval query
    for mode in ("dense", "bm25", "hybrid"):
        right, wrong = by_query[("right", mode)], by_query[("wrong", mode)]
        # Three records, ten ranks: the right unit is always found, a wrong locator never.
        assert right.recall_at_10 == 1.0 and right.first_rank is not None
        assert wrong.recall_at_10 == 0.0 and wrong.ndcg_at_10 == 0.0 and wrong.mrr_at_10 == 0.0
    dense = by_query[("right", "dense")]
    assert dense.first_rank == 1 and dense.ndcg_at_10 == 1.0
    # Calibration sees all three questions, one of them unanswerable.
    assert len(run.calibration.signals) == 3
    assert len(run.calibration.rows) == 20
    assert run.calibration.rows[0].threshold == 0.0
    assert run.calibration.rows[0].relevance_only_declined == 0.0
    assert run.calibration.rows[0].unanswerable_declined == 0.0  # threshold 0 declines nothing
    # "Venus de Milo" is in no document: the refusal model rates it below both answerable ones.
    by_id = {s.id: s for s in run.calibration.signals}
    unanswered = [s.probability for s in by_id.values() if not s.answerable]
    assert max(unanswered) < min(s.probability for s in by_id.values() if s.answerable)


def _write_beir(folder):
    (folder / "qrels").mkdir(parents=True)
    write_jsonl(folder / "corpus.jsonl", [{"_id": i, "title": t, "text": x} for i, t, x in DOCS])
    write_jsonl(folder / "queries.jsonl", [
        {"_id": "q1", "text": "which programming language has ownership"},
        {"_id": "q2", "text": "how is bread made"},
        {"_id": "q3", "text": "what does a volcano emit"},
    ])
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\nq3\td2\t1\n"
    )
    return folder


def test_beir_run_on_synthetic_corpus(tmp_path):
    data = load_beir(_write_beir(tmp_path / "toy_beir"), "test")
    settings = _settings()
    run = run_beir(data, "test", ["dense", "bm25"], settings)
    assert run.dataset == "toy_beir"
    for summary in run.retrieval.summaries:
        assert summary.queries == 3
        assert summary.recall_at_10 == 1.0
        assert summary.ndcg_at_10 == 1.0  # one obvious document per query
    # A second run finds every record stored and embeds nothing.
    from rag.eval.runs import add_records, beir_documents, collection_name, with_collection
    from rag.store.index import DocumentIndex

    assert collection_name(data.name) == "eval_toy_beir"
    index = DocumentIndex(with_collection(settings, "eval_toy_beir"))
    assert index.count() == 5
    assert add_records(index, data.name, beir_documents(data)) == 0


def test_cli_writes_table_json_and_png(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RAG_STORE__MODE", "memory")
    from rag.settings import get_settings

    get_settings.cache_clear()
    try:
        folder = _write_beir(tmp_path / "cli_beir")
        out = tmp_path / "results"
        code = main(["--beir", str(folder), "--modes", "dense,hybrid+rerank", "--out", str(out),
                     "--quiet"])
    finally:
        get_settings.cache_clear()
    printed = capsys.readouterr().out
    assert code == 0
    assert "Retrieval: cli_beir (test)" in printed
    assert "hybrid+rerank skipped: reranking off" in printed
    payload = json.loads((out / "cli_beir_test.json").read_text())
    assert payload["retrieval"]["summaries"][0]["mode"] == "dense"
    assert len(payload["retrieval"]["per_query"]) == 3
    assert (out / "cli_beir_test_retrieval.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_reports_bad_input_cleanly(tmp_path, capsys):
    assert main(["--beir", str(tmp_path / "missing")]) == 2
    assert "qrels file not found" in capsys.readouterr().err
