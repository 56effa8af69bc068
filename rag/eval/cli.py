"""``python -m rag eval``: the evaluation harness on the command line.

    python -m rag eval data/eval/gold.jsonl --corpus data/corpus [--modes dense,bm25,hybrid]
        [--answers [--expand 0,1,2]] [--limit N] [--out data/eval/results]
    python -m rag eval --beir ../shared/benchmarks/beir_scifact [--split test] [--limit N]
    python -m rag eval --squad ../shared/benchmarks/squad2_dev_subset [--answers] [--limit N]
    python -m rag eval ../shared/realdocs [--modes ...] [--answers]   # documents/ + questions.jsonl

Tables go to stdout, progress to stderr; JSON and PNG files are written under ``--out``.
Registered in ``rag.cli.main`` through :func:`add_subcommands`; ``python -m rag.eval`` runs it
alone.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.eval.report import format_table, write_bar_chart, write_json
from rag.settings import Settings

Progress = Callable[[str, int, int], None]  # (stage, done, total), as the runners call it
RETRIEVAL_METRICS = ("R@1", "R@5", "R@10", "Hit@5", "MRR@10", "nDCG@10")
ANSWER_METRICS = ("answerable ok", "unans. declined", "false decline", "citations ok", "EM", "F1")


def add_subcommands(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Register ``eval`` (the ``rag.cli.main`` convention: list this module in COMMAND_MODULES)."""
    parser = subparsers.add_parser(
        "eval",
        parents=[common],
        help="measure retrieval and answer quality on a gold set or a public benchmark",
        description="Evaluate retrieval modes (Recall@k, MRR@10, nDCG@10, latency), answers "
        "(ours vs the tutorial baseline) and the refusal threshold. Each dataset is indexed "
        "into its own collection (eval_<name>), never the documents collection.",
    )
    add_eval_arguments(parser)
    parser.set_defaults(handler=run_eval)


def add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("gold", nargs="?", type=Path,
                        help="gold set JSONL (our format), or a realdocs folder (documents/ and "
                        "questions.jsonl, scored by its README's rules)")
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"),
                        help="folder the gold set refers to (default: data/corpus)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--beir", type=Path, metavar="FOLDER",
                        help="BEIR-layout benchmark folder (corpus.jsonl, queries.jsonl, qrels/)")
    source.add_argument("--squad", type=Path, metavar="FOLDER",
                        help="SQuAD 2.0 subset folder (BEIR view + answers.jsonl)")
    parser.add_argument("--split", default="test", help="BEIR qrels split (default: test)")
    parser.add_argument("--modes", default="",
                        help="comma-separated retrieval modes (default: all, plus hybrid+rerank "
                        "when a reranker is configured); 'none' skips retrieval on --squad")
    parser.add_argument("--answers", action="store_true",
                        help="also run the answer eval with the configured LLM (slow)")
    parser.add_argument("--expand", default="", metavar="N[,N...]",
                        help="with --answers: answer once per neighbour-expansion count "
                        "(retrieval.expand_neighbours, e.g. 0,1,2) instead of ours vs the "
                        "tutorial baseline")
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="quick runs: N questions spread evenly over a gold set, realdocs or "
                        "SQuAD file "
                        "(keeps the answerable/unanswerable mix); the first N BEIR queries")
    parser.add_argument("--out", type=Path, default=Path("data/eval/results"),
                        help="folder for the JSON and PNG results (default: data/eval/results)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _modes(text: str) -> list[str]:
    from rag.errors import ConfigError
    from rag.eval.retrieval_eval import RERANK_MODE
    from rag.retrieval.modes import RETRIEVAL_MODES

    if text.strip().lower() == "none":
        return []
    if not text.strip():
        return [*RETRIEVAL_MODES, RERANK_MODE]
    modes = [m.strip() for m in text.split(",") if m.strip()]
    valid = [*RETRIEVAL_MODES, RERANK_MODE]
    for mode in modes:
        if mode not in valid:
            raise ConfigError(f"unknown mode {mode!r}; choose from: {', '.join(valid)}")
    return modes


def _neighbour_counts(text: str) -> list[int]:
    from rag.errors import ConfigError

    counts = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if not part.isdigit():
            raise ConfigError(f"--expand takes neighbour counts like 0,1,2; got {part!r}")
        counts.append(int(part))
    return counts


@contextmanager
def stage_progress(quiet: bool) -> Iterator[Progress | None]:
    """The runners' progress callback, ``progress(stage, done, total)``: a tqdm bar on stderr for
    each stage (None when quiet). The last bar is closed on the way out, error or not, so an
    error line never lands on the end of a bar."""
    if quiet:
        yield None
        return
    bars = _StageBars()
    try:
        yield bars
    finally:
        bars.close()


class _StageBars:
    """One tqdm bar at a time: a new stage closes the last one's bar and opens its own."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if self._bar is None or stage != self._stage:
            self.close()
            self._bar = tqdm(total=total, desc=stage, file=sys.stderr, dynamic_ncols=True)
            self._stage = stage
        self._bar.total = total
        self._bar.n = done
        self._bar.refresh()
        if done >= total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def retrieval_table(run: Any, published: dict[str, tuple[float, str]] | None = None) -> str:
    rows = [s.row() for s in run.summaries]
    columns = ["mode", "n", *RETRIEVAL_METRICS, "p50 ms", "p95 ms"]
    if published:
        for row in rows:
            figure = published.get(str(row["mode"]))
            row["published nDCG@10"] = figure[0] if figure else None
        columns.append("published nDCG@10")
    text = format_table(rows, columns, title=f"Retrieval: {run.dataset}",
                        digits={"p50 ms": 1, "p95 ms": 1})
    lines = [text]
    lines += [f"note: {n}" for n in run.notes]
    if published:
        lines += [f"published {mode}: {value:.3f} ({where})"
                  for mode, (value, where) in published.items()]
    return "\n".join(lines)


def calibration_table(cal: Any) -> str:
    text = format_table(
        [r.row() for r in cal.rows],
        ["threshold", "unans. declined", "false decline", "meets targets",
         "closeness alone: declined", "closeness alone: false"],
        title=f"Refusal calibration: {cal.dataset} (decline when the refusal model's "
        "probability that the documents answer is below the threshold; beside it, the best "
        "dense closeness alone below the same threshold; no LLM)",
        digits={"threshold": 2},
    )
    return f"{text}\n{cal.verdict}"


def answers_table(ans: Any) -> str:
    rows = [s.row() for s in ans.summaries]
    counts = ans.summaries[0] if ans.summaries else None
    title = f"Answers: {ans.dataset}"
    if counts is not None:
        title += f" ({counts.answerable} answerable, {counts.unanswerable} unanswerable)"
    return format_table(rows, ["config", *ANSWER_METRICS, "p50 s", "gen/quote/decl"],
                        title=title, digits={"p50 s": 2})


def realdocs_tables(run: Any) -> list[str]:
    sections = [f"Corpus {run.corpus}: {run.chunks} chunks; {run.ingest}"]
    if run.retrieval.summaries or run.retrieval.notes:
        sections.append(retrieval_table(run.retrieval))
        sections.append(format_table(
            [r.row() for r in run.by_format], ["mode", "format", "n", "R@1", "R@5", "locator ok"],
            title="Retrieval by format (correct = from the gold file and containing the answer "
            "or evidence; locator ok = the first correct passage in the top 10 cites the gold "
            "page / section / pointer / element / line)"))
    sections.append(calibration_table(run.calibration))
    if run.answers is not None:
        sections.append(answers_table(run.answers))
    return sections


def _write_outputs(out: Path, stem: str, payload: Any, retrieval: Any, answers: Any) -> list[Path]:
    written = [write_json(payload, out / f"{stem}.json")]
    if retrieval is not None and retrieval.summaries:
        written.append(write_bar_chart(
            [s.row() for s in retrieval.summaries], label_key="mode",
            metrics=RETRIEVAL_METRICS, path=out / f"{stem}_retrieval.png",
            title=f"Retrieval: {retrieval.dataset}",
        ))
    if answers is not None and answers.summaries:
        written.append(write_bar_chart(
            [s.row() for s in answers.summaries], label_key="config", metrics=ANSWER_METRICS,
            path=out / f"{stem}_answers.png", title=f"Answers: {answers.dataset}",
        ))
    return written


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Run the requested evaluation and print its tables; returns the exit code.

    Errors (``RagError``) propagate to the CLI's one boundary.
    """
    with stage_progress(args.quiet) as progress:
        return _run_eval(args, settings, progress)


def _run_eval(args: argparse.Namespace, settings: Settings, progress: Progress | None) -> int:
    from rag.errors import ConfigError
    from rag.eval import runs
    from rag.eval.datasets import load_beir, load_gold, load_squad_answers, spread

    expand = _neighbour_counts(args.expand)
    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    sections: list[str] = []
    if args.beir is not None:
        data = load_beir(args.beir, args.split, args.limit)
        run = runs.run_beir(data, args.split, _modes(args.modes), settings, progress)
        sections.append(retrieval_table(run.retrieval, run.published))
        stem = f"{data.name}_{args.split}"
        written = _write_outputs(args.out, stem, run, run.retrieval, None)
    elif args.squad is not None:
        data = load_beir(args.squad, "test")
        items = load_squad_answers(args.squad, args.limit)
        modes = _modes(args.modes) if args.modes else ["dense", "bm25", "hybrid"]
        run = runs.run_squad(data, items, modes, settings, answers=args.answers,
                             expand=expand, progress=progress)
        if run.retrieval is not None:
            sections.append(retrieval_table(run.retrieval))
        if run.calibration is not None:
            sections.append(calibration_table(run.calibration))
        if run.answers is not None:
            sections.append(answers_table(run.answers))
        written = _write_outputs(args.out, data.name, run, run.retrieval, run.answers)
    elif args.gold is not None and args.gold.is_dir():
        from rag.eval.realdocs import load_realdocs
        from rag.eval.realdocs_run import run_realdocs

        data = load_realdocs(args.gold)
        if args.limit is not None:
            from dataclasses import replace

            data = replace(data, items=tuple(spread(data.items, args.limit)))
        run = run_realdocs(data, _modes(args.modes), settings, answers=args.answers,
                           expand=expand, progress=progress)
        sections.extend(realdocs_tables(run))
        written = _write_outputs(args.out, f"realdocs_{args.gold.name}", run, run.retrieval,
                                 run.answers)
    else:
        if args.gold is None:
            raise ConfigError("give a gold set JSONL, or --beir FOLDER, or --squad FOLDER")
        items = spread(load_gold(args.gold), args.limit)
        if not args.corpus.is_dir():
            raise ConfigError(f"--corpus {args.corpus} is not a folder")
        run = runs.run_gold(items, args.corpus, _modes(args.modes), settings,
                            answers=args.answers, expand=expand, progress=progress)
        sections.append(f"Corpus {run.corpus}: {run.ingest}")
        if run.retrieval.summaries or run.retrieval.notes:
            sections.append(retrieval_table(run.retrieval))
        sections.append(calibration_table(run.calibration))
        if run.answers is not None:
            sections.append(answers_table(run.answers))
        written = _write_outputs(args.out, args.gold.stem, run, run.retrieval, run.answers)
    print("\n\n".join(sections))
    print("\nwrote " + ", ".join(p.as_posix() for p in written))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m rag.eval``: the same command without the store options."""
    from rag.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m rag.eval")
    add_eval_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_eval(args, get_settings())
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
