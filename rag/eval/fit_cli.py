"""``python -m rag fit``: fit the refusal model and the answer scorer on the train halves of
evaluation sets.

    python -m rag fit --realdocs ../shared/realdocs \
        --squad ../shared/benchmarks/squad2_dev_subset \
        --gold data/eval/gold.jsonl --gold data/eval/refusal_dev.jsonl --corpus data/corpus \
        [--out data/refusal_model.json] [--scorer-out data/answer_scorer.json]
        [--features FILE] [--max-false-decline 0.10]

Every set is indexed into its own collection (as ``python -m rag eval`` does), every question
prepared by the chain (no LLM), both models fitted on the train halves and the figures of
every set's train, held-out and whole printed. ``--features`` keeps the per-question features in a
JSON file and reuses it when it exists (a re-fit then takes a second).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rag.eval.refusal_fit import SPLIT_SEED
from rag.eval.report import format_table
from rag.settings import Settings


def add_subcommands(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "fit", parents=[common],
        help="fit the refusal model and the answer scorer on evaluation sets' train halves",
        description="Fit the model that decides whether the documents answer a question and "
        "the scorer that picks the answering sentence, on the train half of each set given; "
        "print train and held-out figures per set.",
    )
    parser.add_argument("--realdocs", type=Path, action="append", default=[], metavar="FOLDER")
    parser.add_argument("--squad", type=Path, action="append", default=[], metavar="FOLDER")
    parser.add_argument("--gold", type=Path, action="append", default=[], metavar="JSONL",
                        help="a gold set in our format over --corpus")
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write the model (default: the packaged "
                        "data/refusal_model.json)")
    parser.add_argument("--scorer-out", type=Path, default=None,
                        help="where to write the answer scorer (default: the packaged "
                        "data/answer_scorer.json)")
    parser.add_argument("--features", type=Path, default=None,
                        help="JSON file of per-question features: read if it exists, else "
                        "written")
    parser.add_argument("--max-false-decline", type=float, default=None,
                        help="largest share of answerable train questions a set may have "
                        "declined (default 0.10)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(handler=run_fit)


def _sets(args: argparse.Namespace, settings: Settings) -> list[tuple[str, Any, list[Any]]]:
    """(name, index, QA items) per set named on the command line."""
    from rag.eval.datasets import load_beir, load_gold, load_squad_answers
    from rag.eval.realdocs import load_realdocs
    from rag.eval.realdocs_run import realdocs_qa_items
    from rag.eval.runs import (
        collection_name,
        gold_qa_items,
        open_beir_index,
        open_gold_index,
        squad_qa_items,
        with_collection,
    )

    out = []
    for root in args.realdocs:
        data = load_realdocs(root)
        chosen = with_collection(settings, collection_name(f"realdocs_{data.root.name}"))
        index, _ = open_gold_index(data.documents, chosen)
        out.append((f"realdocs:{root.name}", (index, chosen), realdocs_qa_items(data.items)))
    for folder in args.squad:
        beir = load_beir(folder, "test")
        chosen = with_collection(settings, collection_name(beir.name))
        index = open_beir_index(beir, chosen)
        out.append((f"squad:{beir.name}", (index, chosen),
                    squad_qa_items(load_squad_answers(folder), beir)))
    for path in args.gold:
        chosen = with_collection(settings, collection_name(f"gold_{args.corpus.name}"))
        index, _ = open_gold_index(args.corpus, chosen)
        out.append((f"gold:{path.stem}", (index, chosen), gold_qa_items(load_gold(path))))
    return out


def run_fit(args: argparse.Namespace, settings: Settings) -> int:
    from rag.eval.cli import stage_progress

    with stage_progress(args.quiet) as progress:
        return _fit(args, settings, progress)


def _fit(args: argparse.Namespace, settings: Settings, progress: Any) -> int:
    from rag.answer.refusal import DEFAULT_MODEL_PATH, load_refusal_model
    from rag.errors import ConfigError
    from rag.eval.refusal_fit import (
        MAX_FALSE_DECLINE,
        Assessed,
        assess,
        fit_and_report,
        split_items,
        with_extract_best,
    )

    sets = _sets(args, settings)
    if not sets:
        raise ConfigError("name at least one set: --realdocs, --squad or --gold")
    splits = {name: split_items(items) for name, _, items in sets}
    assessed: list[Assessed] = []
    cached = _read_features(args.features) if args.features else {}
    for name, (index, chosen), items in sets:
        if name in cached and {r.id for r in cached[name]} == {i.id for i in items}:
            assessed.extend(cached[name])
            continue
        assessed.extend(assess(name, index, items, chosen, progress))
    if args.features:
        _write_features(args.features, assessed)
    # The answer scorer first: its confidence is one of the refusal model's signals.
    scorer = _fit_scorer(args, assessed, splits)
    assessed = [with_extract_best(r, scorer) for r in assessed]
    limit = MAX_FALSE_DECLINE if args.max_false_decline is None else args.max_false_decline
    result = fit_and_report(assessed, splits, max_false_decline=limit)
    out = args.out or DEFAULT_MODEL_PATH
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(result.model.to_json(), encoding="utf-8")
    load_refusal_model.cache_clear()
    fitted = result.model.weights
    strongest = sorted(zip(fitted.terms, fitted.coef, strict=True), key=lambda t: -abs(t[1]))
    weights = ", ".join(f"{n} {c:+.2f}" for n, c in strongest[:8])
    print(format_table([f.row() for f in result.figures],
                       ["set", "half", "answerable", "unanswerable", "false decline",
                        "unans. declined", "gap"],
                       title="Refusal model: declines per set (fitted on the train halves)"))
    print(f"\nthreshold {result.model.threshold:.2f}; strongest weights (standardised, of "
          f"{len(fitted.terms)}): {weights}")
    print(f"wrote {out}")
    return 0


def _fit_scorer(args: argparse.Namespace, assessed: list[Any],
                splits: dict[str, tuple[set[str], set[str]]]) -> Any:
    from rag.answer.extract import DEFAULT_SCORER_PATH, load_answer_scorer
    from rag.eval.scorer_fit import fit_scorer, scorer_figures

    train = [r for r in assessed if r.id in splits[r.set][0]]
    scorer = fit_scorer(train)
    rows = []
    for name, (train_ids, held_ids) in splits.items():
        chosen = [r for r in assessed if r.set == name]
        rows.append(scorer_figures(name, "train", [r for r in chosen if r.id in train_ids],
                                   scorer))
        rows.append(scorer_figures(name, "held-out", [r for r in chosen if r.id in held_ids],
                                   scorer))
    from dataclasses import replace

    scorer = replace(scorer, fitted_on={"split_seed": SPLIT_SEED,
                                        "figures": [r.row() for r in rows]})
    out = args.scorer_out or DEFAULT_SCORER_PATH
    out.write_text(scorer.to_json(), encoding="utf-8")
    load_answer_scorer.cache_clear()
    print()
    print(format_table([r.row() for r in rows],
                       ["set", "half", "answerable", "any candidate", "closest first",
                        "scorer first"],
                       title="Answer scorer: the first candidate holds the answer "
                       "(fitted on the train halves)"))
    print(f"wrote {out}\n")
    return scorer


def _read_features(path: Path) -> dict[str, list[Any]]:
    from rag.answer.refusal import RefusalFeatures
    from rag.eval.refusal_fit import Assessed

    if not path.is_file():
        return {}
    out: dict[str, list[Any]] = {}
    for row in json.loads(path.read_text(encoding="utf-8")):
        # Features a newer or older model does not use are left out (a re-fit with fewer).
        row["features"] = RefusalFeatures(**{k: v for k, v in row["features"].items()
                                             if k in RefusalFeatures.names()})
        row["references"] = tuple(row.get("references", ()))
        row["candidates"] = tuple((n, t, tuple(f)) for n, t, f in row.get("candidates", ()))
        out.setdefault(row["set"], []).append(Assessed(**row))
    return out


def _write_features(path: Path, rows: list[Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(r) for r in rows], indent=1), encoding="utf-8")
