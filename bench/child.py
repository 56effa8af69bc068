"""Run one benchmark task in a fresh child process and watch its memory.

Every figure is measured in its own process: no model, cache or index is left warm by an earlier
measurement, the tutorial pipelines can run in their own environment (.venv-bench), and the peak
resident memory of a task is its own. The child prints one ``BENCH_RESULT <json>`` line; the
parent samples the child's RSS with psutil and also takes the child's own ``ru_maxrss``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

RESULT_PREFIX = "BENCH_RESULT "
REPO_ROOT = Path(__file__).resolve().parent.parent
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


class TaskFailed(RuntimeError):
    """A child task exited non-zero or printed no result; carries the tail of its stderr."""


@dataclass(frozen=True)
class ChildRun:
    task: str
    payload: dict
    wall_s: float  # spawn to exit, as a user would see it (includes interpreter start-up)
    peak_rss_mb: float  # highest RSS of the child (and its own children) while it ran


def _tree_rss(proc: psutil.Process) -> int:
    try:
        total = proc.memory_info().rss
        for kid in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):  # a child may exit between list and read
                total += kid.memory_info().rss
        return total
    except psutil.Error:
        return 0


def run_task(
    task: str,
    args: dict,
    *,
    python: Path | str = sys.executable,
    timeout_s: float = 1800,
    env: dict[str, str] | None = None,
    sample_every_s: float = 0.05,
) -> ChildRun:
    """Run ``python -m bench.worker task args`` and return its result and peak memory."""
    child_env = {**os.environ, **OFFLINE_ENV, **(env or {})}
    # The repo root first on the path so `bench` and the app packages import from the tree.
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), child_env.get("PYTHONPATH", "")) if p
    )
    command = [str(python), "-m", "bench.worker", task, json.dumps(args)]
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watched = psutil.Process(proc.pid)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(watched))
            done.wait(sample_every_s)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        proc.kill()
        proc.communicate()
        raise TaskFailed(f"{task}: timed out after {timeout_s:.0f} s") from exc
    finally:
        done.set()
        sampler.join()
    wall = time.perf_counter() - started
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        raise TaskFailed(f"{task}: exit code {proc.returncode}\n{tail}")
    payload = json.loads(lines[-1][len(RESULT_PREFIX):])
    # ru_maxrss from inside the child catches a peak shorter than the sampling period.
    peak_mb = max(peak / 2**20, float(payload.get("self_maxrss_mb", 0.0)))
    return ChildRun(task=task, payload=payload, wall_s=wall, peak_rss_mb=peak_mb)
