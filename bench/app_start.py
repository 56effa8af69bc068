"""App cold start: from `streamlit run app.py` until the server is healthy and the page paints.

"Paints" means a real browser (Debian's Chromium through Playwright, no downloaded browser)
shows the app's title and sidebar, which Streamlit renders only after the script ran once.
Without Chromium the figure falls back to the first HTTP 200 of the page, and says so.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.child import OFFLINE_ENV, REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except OSError:
        return 0


def measure_app_start(env: dict[str, str], timeout_s: float = 120.0) -> dict:
    """Seconds from launching Streamlit to health OK, to page HTML, and to the painted page."""
    app = REPO_ROOT / "app.py"
    if not app.exists():
        return {"skipped": "app.py is not there yet"}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
    ]
    started = time.perf_counter()
    server = subprocess.Popen(
        command, cwd=REPO_ROOT, env={**os.environ, **OFFLINE_ENV, **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    result: dict = {}
    try:
        deadline = started + timeout_s
        while _get(f"{base}/_stcore/health") != 200:
            if time.perf_counter() > deadline or server.poll() is not None:
                return {"skipped": "the Streamlit server did not become healthy"}
            time.sleep(0.05)
        result["health_s"] = time.perf_counter() - started
        if _get(base) == 200:
            result["html_s"] = time.perf_counter() - started
        if CHROMIUM.exists():
            result["paint_s"] = _paint_seconds(base, started, timeout_s)
            result["paint_method"] = "chromium: title and sidebar rendered"
        else:
            result["paint_s"] = result.get("html_s")
            result["paint_method"] = "no chromium: first HTTP 200 of the page"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return result


def _paint_seconds(base: str, started: float, timeout_s: float) -> float | None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page()
            page.goto(base, timeout=timeout_s * 1000)
            # The title comes from app.py's own st.title, so the script ran and the page painted.
            page.get_by_role("heading", name="Doc Chat").first.wait_for(timeout=timeout_s * 1000)
            page.locator('[data-testid="stSidebar"]').first.wait_for(timeout=timeout_s * 1000)
            return time.perf_counter() - started
        finally:
            browser.close()
