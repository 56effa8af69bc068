"""Child-process entry point: ``python -m bench.worker TASK '<json args>'``.

Tasks are looked up by name and imported lazily, because the tutorial tasks run in .venv-bench
(which has llama-index but not necessarily our app's packages) and ours run in .venv.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys

from bench.child import RESULT_PREFIX

# task name → "module:function"; each function takes the JSON args and returns a JSON-able dict.
TASKS: dict[str, str] = {
    "chunk": "bench.ours:chunk_corpus",
    "raw_embed": "bench.ours:raw_embedding",
    "ingest": "bench.ours:ingest",
    "retrieval": "bench.ours:retrieval_latency",
    "first_answer": "bench.ours:first_answer",
    "llm": "bench.llm:llm_latency",
    "search": "bench.ours:search_queries",
    "langchain": "bench.tutorials:langchain_pipeline",
    "langchain_folder": "bench.tutorials:langchain_folder",
    "llamaindex": "bench.tutorials:llamaindex_pipeline",
    "onnx_embed": "bench.onnx_export:onnx_throughput",
}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in TASKS:
        tasks = ", ".join(TASKS)
        print(f"usage: python -m bench.worker TASK JSON; tasks: {tasks}", file=sys.stderr)
        return 2
    module_name, func_name = TASKS[argv[0]].split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    result = dict(func(json.loads(argv[1])))
    # Linux reports ru_maxrss in KiB.
    result["self_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
