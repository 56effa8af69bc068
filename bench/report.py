"""Tables, the PASS/MISS summary against the issue's targets, the JSON file and the charts."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GB = 1024.0  # MB per GB for the RSS target


@dataclass(frozen=True)
class TargetCheck:
    name: str
    measured: str
    target: str
    passed: bool | None  # None: not measured in this run
    margin: str  # by how much it passes or misses

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "MISS", None: "n/a"}[self.passed]


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def table(headers: list[str], rows: list[list[Any]], digits: int = 1) -> str:
    cells = [[_fmt(c, digits) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    for raw, row in zip(rows, cells, strict=True):
        # Numbers right-aligned so digits line up; labels left-aligned.
        out.append("  ".join(
            c.rjust(w) if isinstance(v, int | float) else c.ljust(w)
            for v, c, w in zip(raw, row, widths, strict=True)).rstrip())
    return "\n".join(out)


def _get(data: dict, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def render_tables(results: dict) -> str:
    sizes = results["sizes"]
    parts: list[str] = []
    rows = []
    for size, s in sizes.items():
        raw = _get(s, "raw_embed", "chunks_per_s")
        ours = s.get("ingest") or {}
        ratio = ours.get("chunks_per_s") / raw if raw and ours.get("chunks_per_s") else None
        outside = ours.get("outside_embedding_share")
        rows.append([size, ours.get("files"), ours.get("chunks"), raw, ours.get("chunks_per_s"),
                     ratio, None if outside is None else outside * 100, ours.get("seconds"),
                     ours.get("peak_rss_mb"), _get(s, "chunk", "parse_s"),
                     _get(s, "chunk", "chunk_s")])
    parts.append("(1)(2)(6) Embedding limit vs our ingestion (chunks/s; model loaded beforehand;"
                 " 'outside emb %': share of our ingest time not spent in the embedding calls)\n"
                 + table(["size", "files", "chunks", "raw emb/s", "ours/s", "ours÷raw",
                          "outside emb %", "ours s", "peak RSS MB", "parse s", "chunk s"],
                         rows, 2))
    rows = []
    for size, s in sizes.items():
        ours = s.get("ingest") or {}
        for name in ("langchain", "llamaindex"):
            t = s.get(name) or {}
            if t.get("skipped"):
                rows.append([size, name, "skipped: " + t["skipped"], None, None, None, None,
                             None, None])
                continue
            if not t:
                continue
            per_corpus = t["seconds"] / ours["seconds"] if ours.get("seconds") else None
            per_chunk = (ours["chunks_per_s"] / t["chunks_per_s"]
                         if ours.get("chunks_per_s") else None)
            rows.append([size, name, t.get("chunks"), t.get("seconds"), t.get("chunks_per_s"),
                         t.get("files_per_s"), per_corpus, per_chunk, t.get("peak_rss_mb")])
    parts.append("(3) Tutorial pipelines on the same corpus and model (ratios >1: ours faster)\n"
                 + table(["size", "pipeline", "chunks", "wall s", "chunks/s", "files/s",
                          "theirs÷ours s", "ours÷theirs /chunk", "peak RSS MB"], rows, 2))
    rows = []
    for size, s in sizes.items():
        re, first = s.get("reingest") or {}, s.get("ingest") or {}
        frac = re["seconds"] / first["seconds"] if re.get("seconds") and first.get(
            "seconds") else None
        rows.append([size, first.get("seconds"), re.get("seconds"),
                     None if frac is None else frac * 100, re.get("embedded"),
                     _get(re, "statuses", "unchanged")])
    parts.append("(4) Re-ingesting the unchanged corpus\n" + table(
        ["size", "first s", "re-ingest s", "% of first", "embedded", "unchanged files"], rows, 2))
    rows = []
    for size, s in sizes.items():
        for mode, m in (_get(s, "retrieval", "modes") or {}).items():
            rows.append([size, mode, m["p50_ms"], m["p95_ms"], m["first_ms"]])
    parts.append("(5) Retrieval latency (ms, retrieval only, warm)\n"
                 + table(["size", "mode", "p50", "p95", "first query"], rows, 1))
    once = results.get("once", {})
    llm = once.get("llm") or {}
    rows = [[k, v] for k, v in (
        ("LLM load from GGUF (converts), s", _get(llm, "from_gguf", "load_s")),
        ("LLM load from converted cache, s", _get(llm, "from_cache", "load_s")),
        ("prompt tokens (≈1k context)", _get(llm, "from_cache", "prompt_tokens")),
        ("time to first token, s", _get(llm, "from_cache", "ttft_s")),
        ("decode tokens/s", _get(llm, "from_cache", "tokens_per_s")),
        ("peak RSS at rest, largest index, MB", _get(once, "at_rest", "rss_mb")),
        ("app: server healthy, s", _get(once, "app_start", "health_s")),
        ("app: first page painted, s", _get(once, "app_start", "paint_s")),
        ("app: fresh process to first answer, s", _get(once, "first_answer", "wall_s")),
        ("  of which imports, s", _get(once, "first_answer", "import_s")),
        ("  first answer path", _get(once, "first_answer", "path")),
    )]
    parts.append("(5)(6) Local model and app start\n" + table(["figure", "value"], rows, 2))
    onnx = once.get("onnx") or {}
    if onnx.get("skipped"):
        parts.append(f"ONNX int8 backend: skipped: {onnx['skipped']}")
    elif onnx:
        parts.append("Optional ONNX int8 embedding backend (same texts, chunks/s)\n" + table(
            ["torch fp32", "onnx fp32", "onnx int8", "int8÷torch", "cos mean", "cos min"],
            [[onnx["torch_fp32_chunks_per_s"], onnx["onnx_fp32_chunks_per_s"],
              onnx["onnx_int8_chunks_per_s"], onnx["int8_speedup_vs_torch"],
              onnx["int8_cosine_mean"], onnx["int8_cosine_min"]]], 3))
    if results.get("notes"):
        parts.append("Notes\n" + "\n".join(f"- {n}" for n in results["notes"]))
    return "\n\n".join(parts)


def _largest(results: dict, pick: Callable[[dict], Any]) -> tuple[str | None, Any]:
    """The value at the largest size where it was measured."""
    for size, s in reversed(list(results["sizes"].items())):
        value = pick(s)
        if value is not None:
            return size, value
    return None, None


def check_targets(results: dict) -> list[TargetCheck]:
    checks: list[TargetCheck] = []

    def ratio_of(s: dict) -> float | None:
        raw, ours = _get(s, "raw_embed", "chunks_per_s"), _get(s, "ingest", "chunks_per_s")
        return ours / raw if raw and ours else None

    size, ratio = _largest(results, ratio_of)
    checks.append(TargetCheck(
        f"ingestion ≥ 0.9× raw embedding ({size})", _fmt(ratio, 3) + "×", "≥ 0.90×",
        None if ratio is None else ratio >= 0.9,
        "" if ratio is None else f"{(ratio / 0.9 - 1) * 100:+.0f}% vs target"))
    for name in ("langchain", "llamaindex"):
        def speedup(s: dict, name: str = name) -> float | None:
            theirs, ours = _get(s, name, "seconds"), _get(s, "ingest", "seconds")
            return theirs / ours if theirs and ours else None

        size, value = _largest(results, speedup)
        checks.append(TargetCheck(
            f"faster than {name} tutorial, whole corpus ({size})", _fmt(value, 2) + "×",
            "> 1.00×", None if value is None else value > 1.0,
            "" if value is None else f"{(value - 1) * 100:+.0f}%"))
    def reingest(s: dict) -> float | None:
        re, first = _get(s, "reingest", "seconds"), _get(s, "ingest", "seconds")
        return re / first if re is not None and first else None

    size, frac = _largest(results, reingest)
    checks.append(TargetCheck(
        f"re-ingest unchanged ≤ 2% of first ({size})", _fmt(None if frac is None else frac * 100,
                                                           2) + "%",
        "≤ 2%", None if frac is None else frac <= 0.02,
        "" if frac is None else f"{(frac - 0.02) * 100:+.2f} points"))
    for mode in ("dense", "hybrid"):
        size, p50 = _largest(results, lambda s, m=mode: _get(s, "retrieval", "modes", m,
                                                             "p50_ms"))
        checks.append(TargetCheck(
            f"retrieval p50 {mode} ≤ 50 ms ({size}; target is at 100k)", _fmt(p50) + " ms",
            "≤ 50 ms", None if p50 is None else p50 <= 50,
            "" if p50 is None else f"{p50 - 50:+.1f} ms"))
    once = results.get("once", {})
    load = _get(once, "llm", "from_cache", "load_s")
    checks.append(TargetCheck(
        "LLM load after first run ≤ 5 s", _fmt(load, 2) + " s", "≤ 5 s",
        None if load is None else load <= 5, "" if load is None else f"{load - 5:+.2f} s"))
    ttft = _get(once, "llm", "from_cache", "ttft_s")
    checks.append(TargetCheck(
        "time to first token ≤ 1.5 s (1k context)", _fmt(ttft, 2) + " s", "≤ 1.5 s",
        None if ttft is None else ttft <= 1.5, "" if ttft is None else f"{ttft - 1.5:+.2f} s"))
    size, rss = _largest(results, lambda s: _get(s, "ingest", "peak_rss_mb"))
    checks.append(TargetCheck(
        f"peak RSS while ingesting ≤ 3 GB ({size}; target is at 100k)",
        _fmt(None if rss is None else rss / GB, 2) + " GB", "≤ 3 GB",
        None if rss is None else rss <= 3 * GB,
        "" if rss is None else f"{(rss - 3 * GB) / GB:+.2f} GB"))
    speed = _get(once, "onnx", "int8_speedup_vs_torch")
    checks.append(TargetCheck(
        "optional ONNX int8 embedding ≥ 2× fp32", _fmt(speed, 2) + "×", "≥ 2×",
        None if speed is None else speed >= 2, "" if speed is None else f"{speed - 2:+.2f}×"))
    return checks


def render_targets(checks: list[TargetCheck]) -> str:
    return "Targets (issue 6)\n" + table(
        ["target", "measured", "goal", "verdict", "margin"],
        [[c.name, c.measured, c.target, c.verdict, c.margin] for c in checks])


def write_json(results: dict, checks: list[TargetCheck], path: Path) -> None:
    data = {**results, "targets": [
        {"name": c.name, "measured": c.measured, "target": c.target, "verdict": c.verdict,
         "margin": c.margin} for c in checks]}
    path.write_text(json.dumps(data, indent=2, default=str))


def write_charts(results: dict, out_dir: Path, stem: str) -> list[Path]:
    """One PNG per figure, each against corpus size in chunks (log axes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = results["sizes"]

    def series(pick: Callable[[dict], Any]) -> tuple[list[float], list[float]]:
        xs, ys = [], []
        for s in sizes.values():
            x, y = _get(s, "ingest", "chunks"), pick(s)
            if x and y is not None:
                xs.append(x)
                ys.append(y)
        return xs, ys

    charts = {
        "throughput": ("Ingestion throughput (chunks/s)", "chunks/s", {
            "raw embedding (limit)": lambda s: _get(s, "raw_embed", "chunks_per_s"),
            "ours": lambda s: _get(s, "ingest", "chunks_per_s"),
            "LangChain tutorial": lambda s: _get(s, "langchain", "chunks_per_s"),
            "LlamaIndex tutorial": lambda s: _get(s, "llamaindex", "chunks_per_s"),
        }),
        "wall": ("Time to index the corpus (s)", "seconds", {
            "ours": lambda s: _get(s, "ingest", "seconds"),
            "ours, re-ingest unchanged": lambda s: _get(s, "reingest", "seconds"),
            "LangChain tutorial": lambda s: _get(s, "langchain", "seconds"),
            "LlamaIndex tutorial": lambda s: _get(s, "llamaindex", "seconds"),
        }),
        "retrieval": ("Retrieval latency p50 / p95 (ms)", "ms", {
            f"{mode} {q}": (lambda s, m=mode, q=q: _get(s, "retrieval", "modes", m, f"{q}_ms"))
            for mode in ("dense", "mmr", "bm25", "hybrid") for q in ("p50", "p95")
        }),
        "memory": ("Peak RSS while ingesting (MB)", "MB", {
            "ours": lambda s: _get(s, "ingest", "peak_rss_mb"),
            "LangChain tutorial": lambda s: _get(s, "langchain", "peak_rss_mb"),
            "LlamaIndex tutorial": lambda s: _get(s, "llamaindex", "peak_rss_mb"),
        }),
    }
    written = []
    for key, (title, ylabel, lines) in charts.items():
        fig, ax = plt.subplots(figsize=(7, 4.2))
        for label, pick in lines.items():
            xs, ys = series(pick)
            if xs:
                ax.plot(xs, ys, marker="o", label=label)
        ax.set_xscale("log")
        if key in ("wall", "retrieval"):
            ax.set_yscale("log")
        ax.set_xlabel("corpus size (chunks, ours)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
        path = out_dir / f"{stem}-{key}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
