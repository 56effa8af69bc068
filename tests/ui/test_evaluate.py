"""The Evaluate page driven by AppTest: real index over data/corpus, real local model."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import APP

EVALUATE_PAGE = "ui/pages/evaluate_page.py"
LLM_TIMEOUT = 900  # four answers with the local model on 2 shared CPU cores, plus model load


def open_evaluate(timeout: float = 300) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    at.switch_page(EVALUATE_PAGE)
    return at.run()


def test_empty_collection_offers_to_ingest_the_gold_corpus(app_env):
    at = open_evaluate()
    assert not at.exception
    assert any("data/corpus" in i.value for i in at.info)
    at.button(key="eval_ingest_corpus").click().run()
    assert not at.exception
    assert not any("data/corpus" in i.value for i in at.info)  # the collection now holds it
    assert at.button(key="eval_run_button") is not None


@pytest.mark.slow
def test_ab_run_of_bm25_against_dense_shows_metrics_and_per_question_diff(app_env):
    at = open_evaluate()
    if any("data/corpus" in i.value for i in at.info):  # run alone: ingest first
        at.button(key="eval_ingest_corpus").click().run()
    at.selectbox(key="eval_A_mode").select("bm25")
    at.selectbox(key="eval_B_mode").select("dense")
    at.number_input(key="eval_limit").set_value(2)
    at.button(key="eval_run_button").click().run(timeout=LLM_TIMEOUT)
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    metrics, diff = at.dataframe[0].value, at.dataframe[1].value
    assert list(metrics.index) == ["A", "B"]
    assert list(metrics["questions"]) == [2, 2]
    assert metrics.loc["A", "setup"].split(" · ")[2] == "bm25"
    assert metrics.loc["B", "setup"].split(" · ")[2] == "dense"
    assert len(diff) == 2
    assert {"question", "reference", "reply A", "reply B", "path A", "path B", "correct A",
            "correct B", "differs"} <= set(diff.columns)
    assert all(diff["reply A"].str.len() > 0) and all(diff["reply B"].str.len() > 0)
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")  # the bar chart
    assert any("Done: 2 questions" in s.value for s in at.success)

    # A cancel keeps what was answered: drop the last answer and mark the run cancelled, as
    # the Cancel button's callback leaves it when clicked before the fourth answer.
    run = at.session_state["eval_run"]
    run.rows = run.rows[:3]
    run.cancelled = True
    at.run()
    assert not at.exception
    assert any("Cancelled after 3 of 4" in w.value for w in at.warning)
    metrics, diff = at.dataframe[0].value, at.dataframe[1].value
    assert list(metrics["questions"]) == [1, 1]  # like for like: the common question
    assert len(diff) == 1  # only the question both configurations answered
