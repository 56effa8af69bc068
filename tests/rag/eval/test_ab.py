"""A/B runs (rag/eval/ab.py): planning, one step at a time, a whole run, the result rows.

Searches go through a real in-memory index of the tiny gold corpus; answers through the real
chain and the OpenAI backend against the protocol stand-in over HTTP.
"""

import pytest

from rag.errors import ConfigError
from rag.eval.ab import (
    ANSWERS,
    NOT_FOUND,
    RETRIEVAL,
    ABConfig,
    RetrievalRow,
    config_settings,
    diff_rows,
    metric_rows,
    plan_run,
    run_all,
    with_reply,
)
from rag.eval.answer_eval import AnswerRow
from rag.eval.datasets import load_gold
from rag.eval.retrieval_eval import QueryResult
from rag.eval.runs import open_gold_index
from rag.settings import Settings
from tests.servers.openai_stub import OpenAIStub

BM25 = ABConfig("A", "grounded", None, "bm25", "local")
DENSE = ABConfig("B", "grounded", None, "dense", "local")


@pytest.fixture
def gold_index(gold_case):
    gold, corpus = gold_case
    settings = Settings(store={"mode": "memory", "collection": "ab_gold"})
    index, _ = open_gold_index(corpus, settings)
    return load_gold(gold), settings, index


def test_a_retrieval_run_asks_the_answerable_questions_interleaved(gold_case):
    run = plan_run(RETRIEVAL, "gold.jsonl", load_gold(gold_case[0]), 10, (BM25, DENSE))
    assert run.skipped == 1  # the unanswerable question has nothing to find
    assert run.jobs == [("right", "A"), ("right", "B"), ("wrong", "A"), ("wrong", "B")]
    assert run.unit == "searches" and not run.done
    answers = plan_run(ANSWERS, "gold.jsonl", load_gold(gold_case[0]), 2, (BM25, DENSE))
    assert len(answers.question_ids) == 2 and answers.skipped == 0
    with pytest.raises(ConfigError, match="choose from: answers, retrieval"):
        plan_run("speed", "gold.jsonl", load_gold(gold_case[0]), 2, (BM25, DENSE))


def test_the_setup_names_only_what_the_measure_uses():
    other_prompt = ABConfig("B", "tutorial", "greedy", "bm25", "local")
    assert BM25.setup(RETRIEVAL) == "bm25 retrieval"
    assert BM25.same_as(other_prompt, RETRIEVAL)
    assert not BM25.same_as(other_prompt, ANSWERS)
    assert other_prompt.setup(ANSWERS) == "tutorial · greedy · bm25 · local"


def test_a_reply_is_resolved_per_backend_and_a_quote_names_no_presets():
    settings = Settings()
    local = with_reply(ABConfig("A", "few_shot", "top_k", "bm25", "local"), "auto", settings)
    remote = with_reply(ABConfig("B", "few_shot", "top_k", "bm25", "openai"), "auto", settings)
    assert (local.reply, remote.reply) == ("quote", "generate")
    assert local.setup(ANSWERS) == "quote · bm25 · local"
    assert remote.setup(ANSWERS) == "few_shot · top_k · bm25 · openai"
    # Two quoting sides with other presets are one configuration; the chain gets the reply.
    other = with_reply(ABConfig("B", "grounded", None, "bm25", "local"), "quote", settings)
    assert local.same_as(other, ANSWERS)
    assert config_settings(settings, local).answer.reply == "quote"
    assert config_settings(settings, with_reply(local, "generate", settings)).answer.reply == (
        "generate")


def test_another_backend_starts_without_the_configured_model_url_and_key():
    settings = Settings(llm={"backend": "openai", "model": "m", "base_url": "http://h/v1",
                             "api_key": "sk-x"})
    same = config_settings(settings, ABConfig("A", "grounded", None, "bm25", "openai"))
    assert (same.llm.model, same.llm.base_url) == ("m", "http://h/v1")
    assert same.retrieval.mode == "bm25"
    other = config_settings(settings, ABConfig("B", "grounded", None, "dense", "local"))
    assert (other.llm.backend, other.llm.model, other.llm.base_url, other.llm.api_key) == (
        "local", "", None, None)
    assert settings.llm.backend == "openai" and settings.llm.model == "m"  # base unchanged


@pytest.mark.slow
def test_a_step_keeps_its_row_unless_the_run_was_cancelled_meanwhile(gold_index):
    gold, settings, index = gold_index
    run = plan_run(RETRIEVAL, "gold.jsonl", gold, 10, (BM25, DENSE))
    run.run_job(run.next_job(), settings, index)
    row = run.rows[("right", "A")]
    assert isinstance(row, RetrievalRow)
    assert row.top_hit.startswith("error_codes.json · /errors/")
    assert row.result.first_rank is not None  # the right record is among three
    run.cancelled = True  # Cancel clicked while the next question was being searched
    run.run_job(run.next_job(), settings, index)
    assert list(run.rows) == [("right", "A")] and run.done


@pytest.mark.slow
def test_a_whole_run_reports_progress_and_a_failing_side_ends_it_with_the_reason(gold_index):
    gold, settings, index = gold_index
    seen = []
    run = run_all(plan_run(RETRIEVAL, "gold.jsonl", gold, 10, (BM25, DENSE)), settings, index,
                  lambda stage, done, total: seen.append((stage, done, total)))
    assert run.done and not run.error and len(run.rows) == 4
    assert seen[0] == ("searches (gold.jsonl)", 0, 4) and seen[-1][1:] == (4, 4)
    rows = metric_rows(run)
    assert [(r["config"], r["setup"], r["questions"]) for r in rows] == [
        ("A", "bm25 retrieval", 2), ("B", "dense retrieval", 2)]
    # The wrong gold locator is never found: recall@10 is the right question's alone.
    assert [r["R@10"] for r in rows] == [0.5, 0.5]
    diff = {r["id"]: r for r in diff_rows(run)}
    assert diff["wrong"]["rank A"] == diff["wrong"]["rank B"] == NOT_FOUND
    assert not diff["wrong"]["differs"]

    # Reranking is off in these settings: B cannot search, so the run stops at B's first turn.
    rerank = ABConfig("B", "grounded", None, "hybrid+rerank", "local")
    failed = run_all(plan_run(RETRIEVAL, "gold.jsonl", gold, 10, (BM25, rerank)), settings,
                     index)
    assert "reranking off" in failed.error
    assert list(failed.rows) == [("right", "A")] and failed.done


@pytest.mark.slow
def test_answers_are_asked_through_each_sides_chain_and_scored(gold_index):
    gold, settings, index = gold_index
    with OpenAIStub(reply="Battery temperature too high [1].") as server:
        remote = settings.model_copy(update={"llm": settings.llm.model_copy(
            update={"backend": "openai", "model": "stub-model", "base_url": server.url})})
        a = ABConfig("A", "grounded", None, "bm25", "openai")
        b = ABConfig("B", "tutorial_baseline", None, "dense", "openai")
        run = run_all(plan_run(ANSWERS, "gold.jsonl", gold, 10, (a, b)), remote, index)
    assert not run.error, run.error
    assert len(run.rows) == 6 and all(isinstance(r, AnswerRow) for r in run.rows.values())
    right_a, right_b = run.rows[("right", "A")], run.rows[("right", "B")]
    assert right_a.correct and right_b.correct  # the reply holds the reference answer
    prompts = [str(r.body["messages"]) for r in server.requests if r.method == "POST"]
    assert prompts and all("E204" in p or "E310" in p or "Venus" in p for p in prompts)
    rows = metric_rows(run)
    assert [r["setup"] for r in rows] == ["grounded · preset decoding · bm25 · openai",
                                         "tutorial_baseline · preset decoding · dense · openai"]
    diff = {r["id"]: r for r in diff_rows(run)}
    assert diff["absent"]["reference"] == "(unanswerable)"
    assert diff["right"]["correct A"] and diff["right"]["reply A"] == right_a.reply


def _row(config, qid, rank):
    found = 1.0 if rank else 0.0
    result = QueryResult(qid, "bm25", rank, (bool(rank),), found, found, found, found, found,
                         1.0)
    return RetrievalRow(config, qid, result, "f · l")


def test_a_cancelled_run_is_compared_on_the_questions_both_sides_answered(gold_case):
    run = plan_run(RETRIEVAL, "gold.jsonl", load_gold(gold_case[0]), 10, (BM25, DENSE))
    run.rows = {("right", "A"): _row("A", "right", 1), ("right", "B"): _row("B", "right", 3),
                ("wrong", "A"): _row("A", "wrong", None)}
    run.cancelled = True
    assert [r["questions"] for r in metric_rows(run)] == [1, 1]
    diff = diff_rows(run)
    assert [(r["id"], r["rank A"], r["rank B"], r["differs"]) for r in diff] == [
        ("right", "1", "3", True)]
