"""Real documents side by side: our pipeline and the LangChain tutorial on one folder, one run.

    python -m bench --realdocs ../shared/realdocs      # (make bench runs it when present)

Each step runs in a fresh child process (ours in .venv, the tutorial in .venv-bench), one after
the other on the same machine: our ingestion, our unchanged re-ingest, the tutorial's ingestion
(loaders, 1000/200 splitter, Chroma), then the same questions through every retriever. Both
sides' ranked passages are scored here by the same code (``rag.eval.realdocs``: correct = from
the gold file and containing the answer or evidence), so the recall figures compare like for
like; the locator check applies to our citations and, where the tutorial has one (PDF pages),
to its.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

from bench.child import TaskFailed, run_task
from bench.run import BENCH_VENV_PYTHON

OUR_MODES = ("dense", "bm25", "hybrid")
TUTORIAL = "tutorial (dense)"


class _Hit:
    """The shape the scorer reads: ``.doc`` with metadata and page_content."""

    def __init__(self, row: dict) -> None:
        self.doc = Document(page_content=row["text"], metadata=row["meta"])


def score(items: Sequence[Any], ranked: Sequence[Sequence[dict]], documents: Path) -> dict:
    """Recall@1/@5 overall and per format, and locator accuracy of the first correct hit."""
    from rag.eval.realdocs_run import first_correct

    per_format: dict[str, list[tuple[int | None, bool | None]]] = {}
    for item, rows in zip(items, ranked, strict=True):
        rank, located = first_correct(item, [_Hit(r) for r in rows], documents)
        for key in ("all", item.format):
            per_format.setdefault(key, []).append((rank, located))
    table = {}
    for key, rows in per_format.items():
        located = [ok for _, ok in rows if ok is not None]
        table[key] = {
            "n": len(rows),
            "R@1": sum(1 for r, _ in rows if r == 1) / len(rows),
            "R@5": sum(1 for r, _ in rows if r is not None and r <= 5) / len(rows),
            "R@10": sum(1 for r, _ in rows if r is not None) / len(rows),
            "locator_ok": sum(located) / len(located) if located else 0.0,
        }
    return table


def run_realdocs(root: Path, scratch: Path, log: Callable[[str], None] = print) -> dict:
    from rag.eval.realdocs import answerable, load_realdocs
    from rag.eval.realdocs_run import realdocs_queries

    data = load_realdocs(root)
    items = answerable(data.items)
    queries = [q.text for q in realdocs_queries(data.items)]
    work = scratch / "realdocs"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    result: dict[str, Any] = {"root": str(root), "questions": len(items), "notes": []}

    def step(label: str, task: str, args: dict, **kwargs: Any) -> dict | None:
        log(f"  {label} ...")
        try:
            run = run_task(task, args, timeout_s=3600, **kwargs)
        except TaskFailed as exc:
            result["notes"].append(f"{label} failed: {exc}")
            log(f"  {label} FAILED: {exc}")
            return None
        log(f"  {label}: {run.wall_s:.1f} s wall, peak {run.peak_rss_mb:.0f} MB")
        return {**run.payload, "wall_s": run.wall_s, "peak_rss_mb": run.peak_rss_mb}

    index_dir = str(work / "ours")
    corpus = {"corpus_dir": str(data.documents), "index_dir": index_dir, "as_folder": True}
    result["ingest"] = step("our ingestion", "ingest", corpus)
    result["reingest"] = step("our re-ingest (unchanged)", "ingest", corpus)
    searched = step("our retrieval", "search",
                    {"index_dir": index_dir, "modes": list(OUR_MODES), "queries": queries})
    if BENCH_VENV_PYTHON.exists():
        tutorial = step("LangChain tutorial (ingest + retrieval)", "langchain_folder",
                        {"corpus_dir": str(data.documents), "persist_dir": str(work / "tutorial"),
                         "queries": queries}, python=BENCH_VENV_PYTHON)
    else:
        tutorial = None
        result["notes"].append("tutorial skipped: .venv-bench is not installed")
    retrieval: dict[str, Any] = {}
    if searched:
        for mode in OUR_MODES:
            retrieval[mode] = score(items, searched["results"][mode], data.documents)
            retrieval[mode]["p50_ms"] = searched["p50_ms"][mode]
    if tutorial:
        retrieval[TUTORIAL] = score(items, tutorial["results"]["dense"], data.documents)
        retrieval[TUTORIAL]["p50_ms"] = tutorial["p50_ms"]["dense"]
        result["tutorial"] = {k: v for k, v in tutorial.items() if k != "results"}
    result["retrieval"] = retrieval
    return result


def render(result: dict) -> str:
    from rag.eval.report import format_table

    lines = [f"realdocs: {result['root']} ({result['questions']} answerable questions)"]
    ours, tutorial = result.get("ingest"), result.get("tutorial")
    reingest = result.get("reingest")
    rows = []
    if ours:
        rows.append({"pipeline": "ours", "files": ours["files"], "chunks": ours["chunks"],
                     "wall s": ours["wall_s"], "peak MB": ours["peak_rss_mb"],
                     "failed/listed": sum(v for k, v in ours["statuses"].items()
                                          if k != "ingested")})
    if tutorial:
        rows.append({"pipeline": "LangChain tutorial", "files": tutorial["files"],
                     "chunks": tutorial["chunks"], "wall s": tutorial["wall_s"],
                     "peak MB": tutorial["peak_rss_mb"], "failed/listed": len(tutorial["failed"])})
    lines.append(format_table(rows, ["pipeline", "files", "chunks", "wall s", "peak MB",
                                     "failed/listed"], title="Ingestion (same files, one run)",
                              digits={"wall s": 1, "peak MB": 0}))
    if ours and tutorial:
        lines.append(f"ours / tutorial: wall {ours['wall_s'] / tutorial['wall_s']:.2f} x, "
                     f"chunks {ours['chunks'] / max(tutorial['chunks'], 1):.2f} x")
    if ours and reingest:
        lines.append(f"re-ingest unchanged: {reingest['wall_s']:.1f} s wall "
                     f"({reingest['seconds'] / max(ours['seconds'], 1e-9):.2%} of the first "
                     f"ingest's {ours['seconds']:.1f} s in-process), {reingest['embedded']} "
                     "chunks embedded")
    formats = sorted({f for table in result["retrieval"].values() for f in table
                      if isinstance(table[f], dict) and f != "all"})
    rows = []
    for name, table in result["retrieval"].items():
        row: dict[str, Any] = {"retriever": name}
        for key in ("R@1", "R@5", "R@10", "locator_ok"):
            row[key] = table["all"][key]
        for fmt in formats:
            if fmt in table:
                row[f"R@5 {fmt}"] = table[fmt]["R@5"]
        row["p50 ms"] = table.get("p50_ms")
        rows.append(row)
    lines.append(format_table(rows, ["retriever", "R@1", "R@5", "R@10", "locator_ok",
                                     *[f"R@5 {f}" for f in formats], "p50 ms"],
                              title="Retrieval on realdocs (same questions, same scorer)",
                              digits={"p50 ms": 1}))
    lines += [f"note: {n}" for n in result.get("notes", [])]
    return "\n".join(lines)
