"""Follow-up rewriting measured: does the LLM or the rule make the better standalone question?

    python -m rag.eval.followup_eval [data/eval/followups.jsonl] [--corpus data/corpus]

For each two-turn conversation, retrieval (hybrid, k=5) runs on the raw follow-up, the rule's
rewrite, the configured LLM's rewrite and the reference standalone question; a hit is a
retrieved chunk matching a gold source and locator. The chain keeps, per backend, whichever
rewrite the numbers support (``answer.followup_rewrite``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.answer.followup import rewrite_by_llm, rewrite_by_rule
from rag.eval.relevance import locator_covers, same_source
from rag.settings import Settings, get_settings

Rewriter = Callable[[str, tuple[tuple[str, str], ...]], str]


@dataclass(frozen=True)
class FollowupResult:
    hits: dict[str, int]  # rewrite name -> conversations whose relevant unit was in the top k
    total: int
    rewrites: dict[str, list[str]] = field(default_factory=dict)
    seconds_p50: dict[str, float] = field(default_factory=dict)


def _hit(index: Any, query: str, relevant: Sequence[dict[str, str]], k: int, settings: Settings
         ) -> bool:
    from rag.retrieval.modes import retrieve

    for chunk in retrieve(index, query, mode="hybrid", k=k, settings=settings):
        meta = chunk.doc.metadata
        for ref in relevant:
            if same_source(str(meta.get("source", "")), ref["source"]) and locator_covers(
                ref["locator"], str(meta.get("locator", ""))
            ):
                return True
    return False


def measure_followups(
    index: Any,
    conversations: Sequence[dict[str, Any]],
    rewriters: dict[str, Rewriter],
    settings: Settings,
    k: int = 5,
) -> FollowupResult:
    """Hit@k of each rewriter (plus the raw follow-up and the reference) over conversations."""
    names = ["raw", *rewriters, "reference"]
    hits = dict.fromkeys(names, 0)
    rewrites: dict[str, list[str]] = {name: [] for name in rewriters}
    seconds: dict[str, list[float]] = {name: [] for name in rewriters}
    for conv in conversations:
        turns = [t["question"] for t in conv["turns"]]
        history = tuple((q, "") for q in turns[:-1])
        queries = {"raw": turns[-1], "reference": conv["standalone"]}
        for name, rewrite in rewriters.items():
            start = time.perf_counter()
            queries[name] = rewrite(turns[-1], history)
            seconds[name].append(time.perf_counter() - start)
            rewrites[name].append(queries[name])
        for name in names:
            hits[name] += _hit(index, queries[name], conv["relevant"], k, settings)
    p50 = {name: statistics.median(values) for name, values in seconds.items() if values}
    return FollowupResult(hits, len(conversations), rewrites, p50)


def main(argv: Sequence[str] | None = None) -> int:
    from rag.llm import get_chat_model
    from rag.llm.presets import load_decoding_preset
    from rag.store.index import DocumentIndex

    parser = argparse.ArgumentParser(prog="python -m rag.eval.followup_eval")
    parser.add_argument("followups", nargs="?", type=Path,
                        default=Path("data/eval/followups.jsonl"))
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    parser.add_argument("--collection", default="eval_followups")
    args = parser.parse_args(argv)
    settings = get_settings()
    index = DocumentIndex(settings, collection=args.collection)
    index.ingest_paths([args.corpus])  # unchanged files embed nothing
    decoding = load_decoding_preset("greedy").model_copy(update={"max_new_tokens": 40})
    model = get_chat_model(settings, decoding)
    conversations = [
        json.loads(line) for line in args.followups.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    result = measure_followups(
        index,
        conversations,
        {"rule": rewrite_by_rule, "llm": lambda q, h: rewrite_by_llm(q, h, model)},
        settings,
    )
    print(f"Follow-up rewriting, hybrid Hit@5 over {result.total} conversations "
          f"(LLM backend: {settings.llm.backend})")
    for name, count in result.hits.items():
        took = result.seconds_p50.get(name)
        extra = f"   rewrite p50 {took:.2f} s" if took is not None else ""
        print(f"  {name:<10} {count:>3}/{result.total}{extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
