"""``python -m rag eval-ab``: the A/B comparison from a terminal, on the tiny gold corpus with
the real index, embedder and chain (answers from the OpenAI protocol stand-in over HTTP)."""

import re

import pytest

from rag.cli import main as cli
from rag.eval.ab_cli import run_eval_ab
from tests.servers.openai_stub import OpenAIStub


def _own_index(gold):
    """An on-disk index in the test's own folder: the in-memory store lives as long as the
    process, and the eval collection it would fill is the one other tests ingest into."""
    return ["--store", "disk", "--path", str(gold.parent / "index")]


def test_eval_ab_registers_as_a_rag_cli_subcommand():
    args = cli.build_parser().parse_args(
        ["eval-ab", "--measure", "retrieval", "--mode-a", "bm25", "--backend-b", "openai",
         "--limit", "3", "--store", "memory"])
    assert args.handler is run_eval_ab
    assert (args.measure, args.mode_a, args.mode_b, args.backend_b, args.limit) == (
        "retrieval", "bm25", None, "openai", 3)
    assert str(args.gold) == "data/eval/gold.jsonl"


def test_an_unknown_choice_is_refused_with_the_valid_ones_before_anything_runs(gold_case,
                                                                               capsys):
    gold, corpus = gold_case
    code = cli.main(["eval-ab", str(gold), "--corpus", str(corpus), "--prompt-b", "shouty",
                     *_own_index(gold)])
    assert code == 2
    err = capsys.readouterr().err
    assert "--prompt-b: unknown prompt 'shouty'" in err and "grounded" in err


def test_each_side_takes_its_own_reply():
    from rag.eval.ab_cli import side_config
    from rag.settings import Settings

    args = cli.build_parser().parse_args(["eval-ab", "--reply-a", "generate"])
    settings = Settings()
    assert side_config(args, "a", settings).reply == "generate"
    assert side_config(args, "b", settings).reply == "quote"  # auto, with the local model


@pytest.mark.slow
def test_a_retrieval_ab_prints_metrics_and_questions_with_progress_on_stderr(gold_case,
                                                                             capsys):
    gold, corpus = gold_case
    argv = ["eval-ab", str(gold), "--corpus", str(corpus), "--measure", "retrieval",
            "--mode-a", "bm25", "--mode-b", "dense", *_own_index(gold)]
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    assert re.search(r"^Corpus .*: 1 ingested$", out, re.M)
    assert "A/B retrieval: gold.jsonl, 2 questions; A = bm25 retrieval; B = dense retrieval" in out
    assert "1 unanswerable question(s) left out" in out
    metrics = out[out.index("Metrics"):out.index("Per question")].splitlines()
    assert metrics[1].split()[:4] == ["config", "setup", "questions", "R@1"]
    assert metrics[3].split()[:4] == ["A", "bm25", "retrieval", "2"]
    assert metrics[4].split()[:4] == ["B", "dense", "retrieval", "2"]
    questions = out[out.index("Per question"):]
    assert "What does error E204 mean on the battery?" in questions
    assert "error_codes.json · /errors/" in questions
    assert "searches (gold.jsonl)" in err and "4/4" in err  # tqdm's bar, on stderr only

    assert cli.main([*argv, "--quiet", "--only-diff"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "(listed)" in out and "wrong" not in out.split("Per question")[1]  # same rank: –


@pytest.mark.slow
def test_an_answers_ab_asks_each_side_through_the_chain(gold_case, capsys, monkeypatch):
    gold, corpus = gold_case
    with OpenAIStub(reply="Battery temperature too high [1].") as server:
        monkeypatch.setenv("RAG_LLM__BACKEND", "openai")
        monkeypatch.setenv("RAG_LLM__MODEL", "stub-model")
        monkeypatch.setenv("RAG_LLM__BASE_URL", server.url)
        from rag.settings import get_settings

        get_settings.cache_clear()
        try:
            code = cli.main(["eval-ab", str(gold), "--corpus", str(corpus), "--limit", "3",
                             "--prompt-b", "tutorial_baseline", *_own_index(gold),
                             "--quiet"])
        finally:
            get_settings.cache_clear()
    out = capsys.readouterr().out
    assert code == 0, out
    assert ("A = grounded · preset decoding · hybrid · openai; "
            "B = tutorial_baseline · preset decoding · hybrid · openai") in out
    assert "answerable ok" in out and "reply A" in out
    assert "Battery temperature too high [1]." in out  # both replies, as the stub gave them
    assert any(r.method == "POST" for r in server.requests)
