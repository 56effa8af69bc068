"""AppTest fixtures: a small corpus in a temporary on-disk index, the shared model cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
# The converted local LLM lives under the cache dir; reuse the repo's so tests do not convert
# the GGUF again (about 15 s each time).
SHARED_CACHE = Path(os.environ.get("RAG_TEST_CACHE_DIR", REPO / "data" / "cache"))

CORPUS = {
    "zephyr_manual.md": (
        "# Zephyr-9 coffee machine\n\n"
        "## Maintenance\n\n"
        "The Zephyr-9 coffee machine must be descaled every 42 days. Descaling takes 18 minutes "
        "and uses the blue cleaning tablet.\n\n"
        "## Water tank\n\n"
        "The water tank of the Zephyr-9 holds 1.7 litres.\n"
    ),
    "hostile.txt": (
        "Lighthouse keeper log. <script>window.__pwned = 1</script> The lamp of the Skerry "
        "lighthouse is lit at dusk.\n"
    ),
}


@pytest.fixture(scope="module")
def app_env(tmp_path_factory):
    """Environment for the app under test: everything under a temp dir except the model cache.

    Module-scoped and undone afterwards, so other test modules see their own environment.
    """
    root = tmp_path_factory.mktemp("app")
    env = {
        "RAG_DATA_DIR": str(root / "data"),
        "RAG_STORE__PATH": str(root / "index"),
        "RAG_CACHE_DIR": str(SHARED_CACHE),
        "RAG_INGEST__UPLOAD_DIR": str(root / "uploads"),
        "RAG_STORE__MODE": "disk",
        "RAG_LLM__BACKEND": "local",
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        yield root


@pytest.fixture(scope="module")
def corpus_dir(app_env):
    folder = app_env / "corpus"
    folder.mkdir()
    for name, text in CORPUS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def ingested(app_env, corpus_dir):
    """The small corpus ingested into the app's default collection (real index, real model)."""
    from rag.settings import Settings
    from rag.store.index import DocumentIndex

    report = DocumentIndex(Settings()).ingest_paths(sorted(corpus_dir.iterdir()))
    assert {r.status for r in report.files} == {"ingested"}, report
    return corpus_dir
