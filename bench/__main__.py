"""`python -m bench` (`make bench`): the performance figures of issue 6.

    python -m bench                      # sizes 1k,10k within a 30-minute budget
    python -m bench --sizes 1k           # quick run while developing
    python -m bench --sizes 100k --no-budget
    python -m bench --sizes none --realdocs ../shared/realdocs   # real files, ours vs tutorial
    BENCH_SIZES=1k,10k,100k python -m bench

Prints the tables and the PASS/MISS summary, writes bench/results/<date>.json and
bench/results/<date>-*.png. Every measurement runs in a fresh child process; the tutorial
pipelines and the ONNX export run in .venv-bench (bench/requirements.txt).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path

from bench.corpus import SIZES
from bench.report import check_targets, render_tables, render_targets, write_charts, write_json
from bench.run import BenchPlan, run_plan

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "1k,10k"),
                        help=f"comma-separated corpus sizes from {', '.join(SIZES)} "
                             "(default 1k,10k or $BENCH_SIZES)")
    parser.add_argument("--budget-min", type=float, default=28.0,
                        help="skip steps projected not to fit in this many minutes (default 28)")
    parser.add_argument("--no-budget", action="store_true", help="run every step at every size")
    parser.add_argument("--raw-sample", type=int, default=2000,
                        help="chunks (evenly spaced) embedded for the raw limit at large sizes")
    parser.add_argument("--keep", action="store_true", help="keep the scratch indexes")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile our ingestion into <out>/profiles (slows that step)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    parser.add_argument("--realdocs", type=Path, metavar="FOLDER",
                        default=os.environ.get("BENCH_REALDOCS") or None,
                        help="also run our pipeline and the LangChain tutorial side by side on a "
                        "realdocs folder (documents/ + questions.jsonl): ingestion and retrieval")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="print the tables of an earlier results file and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.render:
        earlier = json.loads(args.render.read_text())
        print(render_tables(earlier))
        print()
        print(render_targets(check_targets(earlier)))
        return 0
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip() and s.strip() != "none"]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown or not (sizes or args.realdocs):
        print(f"unknown sizes {unknown}; valid: {', '.join(SIZES)}", file=sys.stderr)
        return 2
    sizes.sort(key=SIZES.__getitem__)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y-%m-%d")
    scratch = args.out / f".scratch-{int(time.time())}"
    json_path = args.out / f"{stamp}.json"
    plan = BenchPlan(sizes=sizes, scratch=scratch,
                     budget_s=None if args.no_budget else args.budget_min * 60,
                     raw_sample=args.raw_sample,
                     log=lambda line: print(line, flush=True),
                     save=lambda partial: write_json(partial, check_targets(partial), json_path),
                     profile_dir=args.out / "profiles" if args.profile else None)
    try:
        results = run_plan(plan) if sizes else {"sizes": {}, "once": {}, "notes": [],
                                                "elapsed_s": 0.0}
        if args.realdocs:
            from bench.realdocs import render, run_realdocs

            print(f"[realdocs] {args.realdocs}", flush=True)
            results["realdocs"] = run_realdocs(args.realdocs, scratch, log=plan.log)
            print(render(results["realdocs"]), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    results["date"] = datetime.now().isoformat(timespec="seconds")
    results["sizes_run"] = sizes
    if not sizes:  # a realdocs-only run: its tables were printed above
        realdocs_json = args.out / f"{stamp}-realdocs.json"
        realdocs_json.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"\nwrote {realdocs_json}")
        return 0
    checks = check_targets(results)
    print()
    print(render_tables(results))
    print()
    print(render_targets(checks))
    write_json(results, checks, json_path)
    charts = write_charts(results, args.out, stamp)
    minutes = results["elapsed_s"] / 60
    print(f"\nwrote {json_path} and {len(charts)} charts; total {minutes:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
