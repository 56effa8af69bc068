"""``python -m rag eval-ab``: the Evaluate page's A/B comparison from a terminal.

    python -m rag eval-ab [data/eval/gold.jsonl] [--corpus data/corpus]
        [--measure answers|retrieval] [--limit 10] [--only-diff] [--quiet]
        [--mode-a M] [--mode-b M] [--prompt-a P] [--prompt-b P]
        [--decoding-a D] [--decoding-b D] [--backend-a B] [--backend-b B]

Both sides start from the configured settings (``RAG_*``); each option changes one part of one
side, as the page's two columns do. The questions are spread over the gold set as the page
spreads them, asked A then B, and scored by the same code (:mod:`rag.eval.ab`): the metrics
table and the per-question table go to stdout, a progress bar to stderr. The corpus is indexed
into the collection ``python -m rag eval`` uses for it (``eval_gold_<folder>``), never the
documents collection. A question that fails ends the run with its reason (exit code 1) after
the tables of what was asked; Ctrl-C does the same with what was asked so far.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, get_args

from rag.settings import ReplyMode, Settings

DEFAULT_LIMIT = 10  # as on the page: the local model takes seconds per answer on a laptop CPU
CELL_CHARS = 60  # a reply or question cut to this in the per-question table


def add_subcommands(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "eval-ab", parents=[common],
        help="compare two configurations on a gold set, side by side (the Evaluate page)",
        description="Ask the same questions with configuration A and configuration B and print "
        "their metrics side by side and the questions where they differ. Measures answers "
        "(asks the LLM) or retrieval only (no LLM, seconds).",
    )
    parser.add_argument("gold", nargs="?", type=Path, default=Path("data/eval/gold.jsonl"),
                        help="gold set JSONL (default: data/eval/gold.jsonl)")
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"),
                        help="folder the gold set refers to (default: data/corpus)")
    parser.add_argument("--measure", choices=("answers", "retrieval"), default="answers",
                        help="answers (asks the LLM; default) or retrieval only")
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, metavar="N",
                        help=f"questions spread evenly over the set (default {DEFAULT_LIMIT})")
    for side in ("a", "b"):
        upper = side.upper()
        group = parser.add_argument_group(f"configuration {upper} (default: the settings)")
        group.add_argument(f"--mode-{side}", metavar="MODE",
                           help=f"{upper}'s retrieval mode: dense, mmr, bm25 or hybrid")
        group.add_argument(f"--prompt-{side}", metavar="PRESET",
                           help=f"{upper}'s prompt preset (a prompts/*.yaml name)")
        group.add_argument(f"--decoding-{side}", metavar="PRESET",
                           help=f"{upper}'s decoding preset (default: the prompt preset's own)")
        group.add_argument(f"--backend-{side}", metavar="BACKEND",
                           help=f"{upper}'s LLM backend: local, openai or huggingface (another "
                           "backend than the configured one starts without its model, URL and "
                           "key)")
        group.add_argument(f"--reply-{side}", choices=get_args(ReplyMode),
                           help=f"who writes {upper}'s reply: the LLM (generate), a quote of the "
                           "best sentence (quote), or auto: quote with the small local model")
    parser.add_argument("--only-diff", action="store_true",
                        help="list only the questions where A and B differ")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(handler=run_eval_ab)


def side_config(args: argparse.Namespace, side: str, settings: Settings) -> Any:
    """Configuration ``side`` ("a" or "b"): the settings with that side's options applied,
    each checked against what exists (a ConfigError names the valid choices)."""
    from rag.errors import ConfigError
    from rag.eval.ab import ABConfig, with_reply
    from rag.llm import BACKENDS
    from rag.llm.presets import list_decoding_presets, list_prompt_presets
    from rag.retrieval.modes import RETRIEVAL_MODES

    chosen = {
        "mode": getattr(args, f"mode_{side}") or settings.retrieval.mode,
        "prompt": getattr(args, f"prompt_{side}") or settings.prompt_preset,
        "decoding": getattr(args, f"decoding_{side}"),
        "backend": getattr(args, f"backend_{side}") or settings.llm.backend,
    }
    valid = {"mode": list(RETRIEVAL_MODES), "prompt": list_prompt_presets(),
             "decoding": list_decoding_presets(), "backend": list(BACKENDS)}
    for part, value in chosen.items():
        if value is not None and value not in valid[part]:
            raise ConfigError(f"--{part}-{side}: unknown {part} {value!r}; choose from: "
                              f"{', '.join(valid[part])}")
    config = ABConfig(side.upper(), chosen["prompt"], chosen["decoding"], chosen["mode"],
                      chosen["backend"])
    return with_reply(config, getattr(args, f"reply_{side}") or settings.answer.reply, settings)


def run_eval_ab(args: argparse.Namespace, settings: Settings) -> int:
    """Plan, run and print an A/B comparison; returns the exit code."""
    from rag.errors import ConfigError
    from rag.eval.ab import plan_run, run_all
    from rag.eval.cli import stage_progress
    from rag.eval.datasets import load_gold
    from rag.eval.runs import collection_name, open_gold_index, with_collection

    if args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    if not args.corpus.is_dir():
        raise ConfigError(f"--corpus {args.corpus} is not a folder")
    configs = (side_config(args, "a", settings), side_config(args, "b", settings))
    run = plan_run(args.measure, args.gold.name, load_gold(args.gold), args.limit, configs)
    settings = with_collection(settings, collection_name(f"gold_{args.corpus.name}"))
    index, ingest = open_gold_index(args.corpus, settings)
    print(f"Corpus {args.corpus}: {ingest}")
    interrupted = False
    with stage_progress(args.quiet) as progress:
        try:
            run_all(run, settings, index, progress)
        except KeyboardInterrupt:  # like the page's Cancel: keep what was asked
            run.cancelled = interrupted = True
    print("\n\n".join(ab_tables(run, only_diff=args.only_diff)))
    if run.error or run.cancelled:
        why = f": {run.error}" if run.error else " (interrupted)"
        print(f"stopped after {len(run.rows)} of {len(run.jobs)} {run.unit}{why}",
              file=sys.stderr)
        return 130 if interrupted else 1
    return 0


def ab_tables(run: Any, only_diff: bool = False) -> list[str]:
    """The metrics table and the per-question table of a run, as plain text."""
    from rag.eval.ab import common_questions, diff_columns, diff_rows, metric_rows
    from rag.eval.report import format_table

    a, b = run.configs
    head = (f"A/B {run.measure}: {run.dataset}, {len(run.question_ids)} questions; "
            f"A = {a.setup(run.measure)}; B = {b.setup(run.measure)}")
    if a.same_as(b, run.measure):
        head += "\n(A and B are the same configuration: the run measures run-to-run noise)"
    if run.skipped:
        head += (f"\n{run.skipped} unanswerable question(s) left out: retrieval is scored on "
                 "questions that have relevant passages")
    if not common_questions(run):
        return [head, "No question was answered by both configurations: nothing to compare."]
    metrics = metric_rows(run)
    digits = {"p50 ms": 0, "p95 ms": 0, "p50 s": 1}
    sections = [head, format_table(metrics, list(metrics[0]), title="Metrics", digits=digits)]
    diff = diff_rows(run)
    shown = [r for r in diff if r["differs"]] if only_diff else diff
    columns = [c for c in diff_columns(run) if not (only_diff and c == "differs")]
    cut = [{k: _cut(v) if isinstance(v, str) else v for k, v in r.items()} for r in shown]
    sections.append(format_table(
        cut, columns, title=f"Per question: {sum(r['differs'] for r in diff)} of {len(diff)} "
        "differ" + (" (listed)" if only_diff else "")))
    return sections


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1].rstrip() + "…"
