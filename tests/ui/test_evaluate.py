"""The Evaluate page driven by AppTest: real index over data/corpus, real models.

The tests share one module-scoped app environment and run in file order: the first ingests
data/corpus through the page, the others evaluate against it.
"""

from __future__ import annotations

import threading

import pytest
from streamlit.testing.v1 import AppTest

from rag.settings import Settings
from rag.store.ingest_jobs import named_job, start_named_ingest_job
from tests.ui.conftest import APP
from ui.evaluate_corpus import corpus_files, corpus_job_name, running_corpus_job
from ui.resources import get_index

EVALUATE_PAGE = "ui/pages/evaluate_page.py"
LLM_TIMEOUT = 900  # four answers with the local model on 2 shared CPU cores, plus model load
RUN_TIMEOUT = 300  # a retrieval run (and here the corpus ingest it waits for)


def open_evaluate(timeout: float = 300) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    at.switch_page(EVALUATE_PAGE)
    return at.run()


def offers_ingest(at: AppTest) -> bool:
    return any("does not hold" in i.value for i in at.info)


def ensure_corpus(at: AppTest) -> AppTest:
    """Ingest data/corpus through the page when an earlier test has not (a test run alone)."""
    if offers_ingest(at):
        at.button(key="eval_ingest_corpus").click().run()
        settings = Settings()
        job = named_job(corpus_job_name(settings, settings.store.collection))
        assert job is not None and job.wait(RUN_TIMEOUT)
        at.run()
    assert not offers_ingest(at)
    return at


def choose_retrieval_run(at: AppTest, mode_a: str, mode_b: str, limit: int) -> None:
    at.radio(key="eval_measure").set_value("retrieval").run()
    at.selectbox(key="eval_A_mode").select(mode_a)
    at.selectbox(key="eval_B_mode").select(mode_b)
    at.number_input(key="eval_limit").set_value(limit)


def test_run_clicked_during_the_corpus_ingest_waits_for_it(app_env):
    at = open_evaluate()
    assert not at.exception
    assert offers_ingest(at)
    settings = Settings()
    collection = settings.store.collection
    index = get_index(settings, collection)  # the page's own (cached) index
    choose_retrieval_run(at, "bm25", "hybrid", limit=2)
    at.run()
    assert at.button(key="eval_run_button").disabled  # nothing to judge the gold set on yet

    # Hold the index's write lock, as a concurrent ingest would: the page's corpus ingest is
    # then certainly still in flight when Run is clicked, whatever the machine's speed.
    index._write_lock.acquire()
    try:
        at.button(key="eval_ingest_corpus").click().run()
        assert not at.exception
        job = running_corpus_job(settings, collection)
        assert job is not None
        assert not offers_ingest(at)  # shown as running, not offered a second time
        assert not any(b.key == "eval_ingest_corpus" for b in at.button)
        assert not at.button(key="eval_run_button").disabled  # a run now waits for the ingest
        # Another session asking for the same ingest joins the running job.
        assert start_named_ingest_job(corpus_job_name(settings, collection), index,
                                      corpus_files()) is job
    finally:
        # Let it go a moment after Run is clicked: the run has to wait for it until then.
        threading.Timer(2.0, index._write_lock.release).start()
    at.button(key="eval_run_button").click().run(timeout=RUN_TIMEOUT)

    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert named_job(corpus_job_name(settings, collection)) is job  # one job, not two
    report = job.snapshot().report
    assert report is not None and report.ingested == len(corpus_files()) and not report.failed
    assert any("data/corpus ingested (" in s.value for s in at.success)
    assert any("Done: 2 questions" in s.value for s in at.success)
    assert not offers_ingest(at)
    # Every question was searched in the full corpus: had one run before the ingest, it would
    # have found nothing in the empty collection.
    diff = at.dataframe[0].value
    assert len(diff) == 2
    assert "(nothing found)" not in set(diff["top hit A"]) | set(diff["top hit B"])


def test_retrieval_ab_of_bm25_against_dense_shows_metrics_and_per_question_diff(app_env):
    at = ensure_corpus(open_evaluate())
    choose_retrieval_run(at, "bm25", "dense", limit=6)
    at.run()
    # Retrieval only: the answer-shaping choices are not asked for.
    keys = {s.key for s in at.selectbox}
    assert {"eval_A_mode", "eval_B_mode"} <= keys
    assert not keys & {"eval_A_prompt", "eval_A_decoding", "eval_A_backend", "eval_B_backend",
                       "eval_A_reply"}
    at.button(key="eval_run_button").click().run(timeout=RUN_TIMEOUT)
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("Done: 6 questions" in s.value for s in at.success)

    metrics = at.table[0].value
    assert list(metrics.index) == ["A", "B"]
    assert list(metrics["setup"]) == ["bm25 retrieval", "dense retrieval"]
    assert list(metrics["questions"]) == [6, 6]
    for column in ("R@1", "R@5", "R@10", "Hit@5", "MRR@10", "nDCG@10"):
        assert all(0.0 <= v <= 1.0 for v in metrics[column]), (column, metrics)
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")  # the bar chart
    diff = at.dataframe[0].value
    assert list(diff.columns) == ["id", "question", "rank A", "rank B", "top hit A",
                                  "top hit B", "differs"]
    assert len(diff) == 6 and all(diff["question"].str.len() > 0)
    assert list(diff["differs"]) == [a != b for a, b in zip(diff["rank A"], diff["rank B"],
                                                            strict=True)]

    # A cancel keeps what was searched: drop the last three rows and mark the run cancelled,
    # as the Cancel button's callback leaves it when clicked before the tenth search.
    run = at.session_state["eval_run"]
    run.rows = dict(list(run.rows.items())[:9])
    run.cancelled = True
    at.run()
    assert not at.exception
    assert any("Cancelled after 9 of 12 searches" in w.value for w in at.warning)
    metrics, diff = at.table[0].value, at.dataframe[0].value
    assert list(metrics["questions"]) == [4, 4]  # like for like: the common questions
    assert len(diff) == 4


@pytest.mark.slow
def test_ab_run_of_bm25_against_dense_answers_shows_metrics_and_per_question_diff(app_env):
    at = ensure_corpus(open_evaluate())
    at.selectbox(key="eval_A_mode").select("bm25")
    at.selectbox(key="eval_B_mode").select("dense")
    at.number_input(key="eval_limit").set_value(2)
    # B's model writes; A quotes (auto, with the local model), so A's presets are not offered.
    at.selectbox(key="eval_B_reply").select("generate").run()
    assert at.selectbox(key="eval_A_prompt").disabled
    assert not at.selectbox(key="eval_B_prompt").disabled
    at.button(key="eval_run_button").click().run(timeout=LLM_TIMEOUT)
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    metrics, diff = at.table[0].value, at.dataframe[0].value
    assert list(metrics.index) == ["A", "B"]
    assert list(metrics["questions"]) == [2, 2]
    assert metrics.loc["A", "setup"] == "quote · bm25 · local"
    assert metrics.loc["B", "setup"] == "grounded · preset decoding · dense · local"
    assert len(diff) == 2
    assert {"question", "reference", "reply A", "reply B", "path A", "path B", "correct A",
            "correct B", "differs"} <= set(diff.columns)
    assert all(diff["reply A"].str.len() > 0) and all(diff["reply B"].str.len() > 0)
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")  # the bar chart
    assert any("Done: 2 questions" in s.value for s in at.success)
