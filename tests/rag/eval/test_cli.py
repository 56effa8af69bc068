from pathlib import Path

from rag.cli import main as cli
from rag.eval.cli import run_eval


def test_eval_registers_as_a_rag_cli_subcommand(monkeypatch):
    if "rag.eval.cli" not in cli.COMMAND_MODULES:
        monkeypatch.setattr(cli, "COMMAND_MODULES", [*cli.COMMAND_MODULES, "rag.eval.cli"])
    args = cli.build_parser().parse_args(
        ["eval", "data/eval/gold.jsonl", "--modes", "dense,bm25", "--limit", "5",
         "--answers", "--store", "memory"]
    )
    assert args.handler is run_eval
    assert args.gold == Path("data/eval/gold.jsonl")
    assert args.corpus == Path("data/corpus")
    assert (args.modes, args.limit, args.answers, args.store) == ("dense,bm25", 5, True, "memory")
    assert cli.settings_from_args(args).store.mode == "memory"


def test_unknown_mode_is_reported_with_the_valid_ones(monkeypatch, capsys, tmp_path):
    if "rag.eval.cli" not in cli.COMMAND_MODULES:
        monkeypatch.setattr(cli, "COMMAND_MODULES", [*cli.COMMAND_MODULES, "rag.eval.cli"])
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"id": "a", "question": "q?", "answerable": false}\n')
    code = cli.main(["eval", str(gold), "--corpus", str(tmp_path), "--modes", "dense,fuzzy",
                     "--store", "memory"])
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown mode 'fuzzy'" in err and "hybrid+rerank" in err


def test_expand_takes_neighbour_counts(monkeypatch, capsys, tmp_path):
    if "rag.eval.cli" not in cli.COMMAND_MODULES:
        monkeypatch.setattr(cli, "COMMAND_MODULES", [*cli.COMMAND_MODULES, "rag.eval.cli"])
    args = cli.build_parser().parse_args(["eval", "gold.jsonl", "--answers", "--expand", "0,2"])
    assert args.expand == "0,2"
    code = cli.main(["eval", "gold.jsonl", "--answers", "--expand", "1,-1", "--store", "memory"])
    assert code == 2
    assert "--expand takes neighbour counts" in capsys.readouterr().err


def test_progress_is_a_tqdm_bar_per_stage_on_stderr_and_quiet_silences_it(capsys):
    from rag.eval.cli import stage_progress

    with stage_progress(False) as progress:
        progress("dense", 1, 2)
        progress("dense", 2, 2)
        progress("bm25", 1, 2)  # left unfinished: closed on the way out
    out, err = capsys.readouterr()
    assert out == ""
    assert "dense: 100%" in err and "2/2" in err and "bm25:  50%" in err
    assert err.endswith("\n")  # a line after the bars starts on a line of its own
    with stage_progress(True) as progress:
        assert progress is None
    assert capsys.readouterr() == ("", "")
