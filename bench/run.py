"""The benchmark plan: which task runs where, in which order, within the time budget.

Sizes run smallest first. Throughput is per chunk, so a step's cost at the next size is
projected from the previous size; a step whose projection does not fit in what is left of the
budget is skipped and the report says so (``--no-budget`` runs everything).
"""

from __future__ import annotations

import platform
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.app_start import measure_app_start
from bench.child import REPO_ROOT, ChildRun, TaskFailed, run_task
from bench.corpus import CorpusInfo, corpus_summary, ensure_corpus, sample_queries

BENCH_VENV_PYTHON = REPO_ROOT / ".venv-bench" / "bin" / "python"
MODES = ("dense", "mmr", "bm25", "hybrid")


@dataclass
class BenchPlan:
    sizes: list[str]
    scratch: Path
    budget_s: float | None  # None: no budget
    raw_sample: int = 2000  # chunks embedded for the raw limit above this many
    onnx_sample: int = 384
    log: Callable[[str], None] = print
    save: Callable[[dict], None] | None = None  # called with the results after every step
    profile_dir: Path | None = None  # cProfile our ingestion into this folder (slows it)
    results: dict = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    notes: list[str] = field(default_factory=list)

    def remaining(self) -> float:
        if self.budget_s is None:
            return float("inf")
        return self.budget_s - (time.perf_counter() - self.started)


def _record(run: ChildRun) -> dict:
    return {**run.payload, "peak_rss_mb": run.peak_rss_mb, "wall_s": run.wall_s}


def _step(plan: BenchPlan, label: str, task: str, args: dict, **kwargs) -> dict | None:
    plan.log(f"  {label} ...")
    try:
        run = run_task(task, args, **kwargs)
    except TaskFailed as exc:
        plan.notes.append(f"{label} failed: {exc}")
        plan.log(f"  {label} FAILED: {exc}")
        return None
    record = _record(run)
    plan.log(f"  {label}: {run.wall_s:.1f} s wall, peak {run.peak_rss_mb:.0f} MB")
    return record


def _saved(plan: BenchPlan, target: dict, key: str, value: dict | None) -> dict | None:
    """Store a step's result and checkpoint, so an interrupted run still leaves its figures."""
    target[key] = value
    if plan.save is not None:
        plan.save(plan.results)
    return value


def _fits(plan: BenchPlan, label: str, projected_s: float | None) -> bool:
    if projected_s is None or projected_s < plan.remaining():
        return True
    note = (f"{label} skipped: projected {projected_s / 60:.1f} min, "
            f"{max(plan.remaining(), 0) / 60:.1f} min of budget left (run with --no-budget)")
    plan.notes.append(note)
    plan.log("  " + note)
    return False


def _projection(previous: dict | None, key: str, corpus: CorpusInfo, prev_corpus: CorpusInfo | None
                ) -> float | None:
    if not previous or not prev_corpus or not (previous.get(key) or {}).get("wall_s"):
        return None
    scale = corpus.estimated_chunks / max(prev_corpus.estimated_chunks, 1)
    return previous[key]["wall_s"] * scale


def _corpus_timeout(corpus: CorpusInfo) -> float:
    """A child's time limit for a step over the whole corpus: the default 30 minutes cut the
    100k-chunk ingest on a 2-core CPU (about 60 min at ~30 chunks/s), so allow 5 chunks/s."""
    return max(1800.0, corpus.estimated_chunks / 5)


def run_size(plan: BenchPlan, corpus: CorpusInfo, result: dict, previous: dict | None,
             prev_corpus: CorpusInfo | None) -> dict:
    work = plan.scratch / corpus.size
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    texts = work / "chunks.jsonl"
    index_dir = work / "index"
    result["corpus"] = corpus_summary(corpus)
    if not _fits(plan, f"parse + chunk at {corpus.size}",
                 _projection(previous, "chunk", corpus, prev_corpus)):
        result["chunk"] = {"skipped": "time budget"}
        return result
    chunked = _saved(plan, result, "chunk", _step(
        plan, "parse + chunk (ours)", "chunk",
        {"corpus_dir": str(corpus.directory), "out": str(texts)}))
    raw_wall = _get_wall(previous, "raw_embed")
    raw_projection = None if raw_wall is None else raw_wall * min(
        corpus.estimated_chunks, plan.raw_sample) / max(_get_chunks(previous), 1)
    if chunked and _fits(plan, f"raw embedding at {corpus.size}", raw_projection):
        limit = plan.raw_sample if chunked["chunks"] > plan.raw_sample else None
        _saved(plan, result, "raw_embed", _step(plan, "raw embedding", "raw_embed",
                                                {"texts": str(texts), "limit": limit}))
    ingest_args = {"corpus_dir": str(corpus.directory), "index_dir": str(index_dir)}
    if plan.profile_dir is not None:
        plan.profile_dir.mkdir(parents=True, exist_ok=True)
        ingest_args["profile"] = str(plan.profile_dir / f"ingest-{corpus.size}.prof")
    if not _fits(plan, f"our ingestion at {corpus.size}",
                 _projection(previous, "ingest", corpus, prev_corpus)):
        result["ingest"] = {"skipped": "time budget"}
        return result
    limit = _corpus_timeout(corpus)
    _saved(plan, result, "ingest", _step(plan, "our ingestion", "ingest", ingest_args,
                                         timeout_s=limit))
    _saved(plan, result, "reingest", _step(
        plan, "re-ingest unchanged", "ingest",
        {"corpus_dir": str(corpus.directory), "index_dir": str(index_dir)}, timeout_s=limit))
    _saved(plan, result, "retrieval", _step(
        plan, "retrieval latency", "retrieval",
        {"index_dir": str(index_dir), "modes": list(MODES), "queries": 40}))
    tutorials_python = BENCH_VENV_PYTHON
    for name in ("langchain", "llamaindex"):
        if not tutorials_python.exists():
            result[name] = {"skipped": ".venv-bench is not installed (see bench/requirements.txt)"}
            continue
        if not _fits(plan, f"{name} tutorial at {corpus.size}",
                     _projection(previous, name, corpus, prev_corpus)):
            result[name] = {"skipped": "time budget"}
            continue
        _saved(plan, result, name, _step(plan, f"{name} tutorial", name,
                                         {"corpus_dir": str(corpus.directory),
                                          "persist_dir": str(work / name)},
                                         python=tutorials_python, timeout_s=limit))
    return result


def run_once(plan: BenchPlan, once: dict, smallest_texts: Path, index: Path) -> dict:
    """Figures that do not grow with corpus size: local LLM, ONNX backend, app start."""
    cache = plan.scratch / "llm-cache"
    shutil.rmtree(cache, ignore_errors=True)
    question = sample_queries(1)[0]
    llm_args = {"cache_dir": str(cache), "texts": str(smallest_texts), "question": question}
    from_gguf = _step(plan, "LLM load from GGUF (first run)", "llm",
                      {**llm_args, "generate": False})
    from_cache = _step(plan, "LLM from converted cache + TTFT", "llm", llm_args)
    _saved(plan, once, "llm", {"from_gguf": from_gguf, "from_cache": from_cache})
    env = {"RAG_STORE__PATH": str(index), "RAG_STORE__COLLECTION": "bench",
           "RAG_CACHE_DIR": str(cache), "RAG_DATA_DIR": str(plan.scratch / "app-data")}
    plan.log("  app cold start ...")
    _saved(plan, once, "app_start", measure_app_start(env))
    plan.log(f"  app cold start: {once['app_start']}")
    _saved(plan, once, "first_answer", _step(
        plan, "fresh process to first answer", "first_answer",
        {"index_dir": str(index), "cache_dir": str(cache), "question": question}))
    if BENCH_VENV_PYTHON.exists():
        from rag.store.embeddings import default_model_path

        _saved(plan, once, "onnx", _step(plan, "ONNX int8 vs fp32 embedding", "onnx_embed", {
            "model_path": str(default_model_path()), "texts": str(smallest_texts),
            "limit": plan.onnx_sample, "out_dir": str(plan.scratch / "onnx-int8")},
            python=BENCH_VENV_PYTHON))
    else:
        once["onnx"] = {"skipped": ".venv-bench (onnx, onnxruntime) is not installed"}
    return once


def machine_info() -> dict:
    import os

    import psutil

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(
        psutil.virtual_memory().total / 2**30, 1), "python": sys.version.split()[0],
        "platform": platform.platform()}


def run_plan(plan: BenchPlan) -> dict:
    results = plan.results
    results.update(machine=machine_info(), sizes={}, notes=plan.notes, once={})
    previous = prev_corpus = None
    once_done = False
    for size in plan.sizes:
        plan.log(f"[{size}] corpus ...")
        corpus = ensure_corpus(size)
        plan.log(f"[{size}] {corpus.files} files, {corpus.bytes / 2**20:.1f} MB, "
                 f"≈{corpus.estimated_chunks} chunks")
        current = results["sizes"][size] = {}
        previous = run_size(plan, corpus, current, previous, prev_corpus)
        prev_corpus = corpus
        if not once_done:
            # After the smallest size, so they run even if a larger size eats the budget.
            plan.log("[once] local model, ONNX backend, app start")
            work = plan.scratch / size
            run_once(plan, results["once"], work / "chunks.jsonl", work / "index")
            once_done = True
    # At rest with the largest index this run built (a size may have been skipped by budget).
    for size in reversed(plan.sizes):
        at_rest = _get_rss(results["sizes"][size])
        if at_rest is not None:
            results["once"]["at_rest"] = {"size": size, "rss_mb": at_rest}
            break
    results["elapsed_s"] = time.perf_counter() - plan.started
    return results


def _get_wall(size_result: dict | None, key: str) -> float | None:
    return ((size_result or {}).get(key) or {}).get("wall_s")


def _get_chunks(size_result: dict | None) -> int:
    return int(((size_result or {}).get("raw_embed") or {}).get("chunks") or 1)


def _get_rss(size_result: dict) -> float | None:
    retrieval = size_result.get("retrieval") or {}
    return retrieval.get("rss_at_rest_mb")
