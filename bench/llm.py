"""Local model figures: load time (GGUF conversion vs converted cache), TTFT and tokens/s.

Run twice in fresh processes with the same ``cache_dir``: the first run with an empty cache pays
the GGUF de-quantisation, the second loads the converted folder, which is what every start of
the app after the first one does.
"""

from __future__ import annotations

import time
from pathlib import Path

CONTEXT_TOKENS = 1000


def _context_of(tokens: int, count_tokens, texts: list[str]) -> str:
    """Whole passages from the corpus until the context holds about ``tokens`` tokens."""
    picked: list[str] = []
    used = 0
    for text in texts:
        cost = count_tokens(text)
        if used + cost > tokens:
            break
        picked.append(text)
        used += cost
    return "\n\n".join(f"[{i}] {t}" for i, t in enumerate(picked, start=1))


def llm_latency(args: dict) -> dict:
    from langchain_core.messages import HumanMessage, SystemMessage

    from bench.ours import read_texts
    from rag.llm.local import LocalChatModel
    from rag.llm.presets import load_decoding_preset

    decoding = load_decoding_preset("greedy")
    model = LocalChatModel.from_decoding(decoding, cache_dir=Path(args["cache_dir"]))
    start = time.perf_counter()
    loaded = model.loaded
    load_s = time.perf_counter() - start
    result: dict = {"load_s": load_s, "model_load_seconds": loaded.load_seconds}
    if not args.get("generate", True):
        return result

    context = _context_of(
        int(args.get("context_tokens", CONTEXT_TOKENS)), model.count_tokens,
        read_texts(args["texts"], 200),
    )
    messages = [
        SystemMessage("Answer only from the numbered passages and cite them like [1]."),
        HumanMessage(f"Passages:\n{context}\n\nQuestion: {args['question']}"),
    ]
    prompt_tokens = sum(model.count_tokens(str(m.content)) for m in messages)
    max_new = int(args.get("max_new_tokens", 64))
    start = time.perf_counter()
    first = None
    output_tokens = 0
    for chunk in model.stream(messages, max_new_tokens=max_new):
        if first is None and chunk.content:
            first = time.perf_counter() - start
        usage = getattr(chunk, "usage_metadata", None)
        if usage:
            output_tokens = usage["output_tokens"]
    total = time.perf_counter() - start
    decode_s = total - (first or total)
    result.update(
        prompt_tokens=prompt_tokens,
        ttft_s=first if first is not None else total,
        output_tokens=output_tokens,
        # Decoding speed after the first token (prefill is what TTFT measures).
        tokens_per_s=(output_tokens - 1) / decode_s if output_tokens > 1 and decode_s else 0.0,
        generate_s=total,
    )
    return result
