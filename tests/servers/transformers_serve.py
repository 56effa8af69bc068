"""Launch a REAL ``transformers serve`` (an OpenAI-compatible server) on a local model folder.

    with transformers_serve(folder, tmp_path) as url:   # url = http://127.0.0.1:PORT
        ...

The server is our own subprocess: it is stopped (terminate, then kill) in ``finally``.
``HF_HUB_CACHE`` must point at an existing folder or its /v1/models route fails; offline
switches stay on so it can never download.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers.processes import free_port, stop_process, wait_for_http

READY_TIMEOUT_S = 180.0


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    wait_for_http(f"{url}/health", process, READY_TIMEOUT_S, "transformers serve",
                  details=lambda: ":\n" + log.read_text()[-3000:])


@contextmanager
def transformers_serve(model_folder: Path, work_dir: Path) -> Iterator[str]:
    """Serve ``model_folder``; yield the server root URL once /health answers."""
    port = free_port()
    hub_cache = work_dir / "hf-hub-cache"
    hub_cache.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HF_HUB_CACHE": str(hub_cache),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    cli = Path(sys.executable).parent / "transformers"
    log = work_dir / "transformers-serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(cli), "serve", str(model_folder), "--host", "127.0.0.1", "--port", str(port),
             "--device", "cpu", "--log-level", "warning"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url, process, log)
            yield url
        finally:
            stop_process(process, timeout=15)
