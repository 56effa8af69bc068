"""Several writers and readers on one on-disk index at once: processes (two CLI ingests and a
reader, as a CLI ingest next to app sessions) and threads (two Streamlit sessions sharing the
app's cached DocumentIndex). Afterwards every document of every writer is present with its
chunks, nothing is duplicated, and every stored vector is reachable by a vector query (a
writer that overwrote another's HNSW segment would leave chunks the query never finds).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest

from rag.store.index import DocumentIndex
from tests.reliability.helpers import (
    check_bm25_matches_store,
    check_consistent,
    disk_settings,
    make_corpus,
    rag_env,
    run_rag,
)

pytestmark = pytest.mark.slow

# Lists, searches (dense and BM25) and counts in a loop until the stop file appears; prints
# one line per round, failed or not, so the test sees what a reader met.
READER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from rag.store.bm25 import bm25_search
    from rag.store.index import DocumentIndex
    from rag.settings import Settings

    stop = Path(sys.argv[1])
    settings = Settings()
    index = DocumentIndex(settings)
    rounds = 0
    while not stop.exists():
        rounds += 1
        try:
            docs = index.list_documents()
            index.search("replace the gasket on the valve", k=3)
            bm25_search(index, "gasket valve", k=3, settings=settings)
            print(f"round {rounds}: {len(docs)} documents, {index.count()} chunks", flush=True)
        except Exception as exc:
            print(f"round {rounds} failed: {exc}", flush=True)
        time.sleep(0.2)
    """
)


def unreachable_chunks(index: DocumentIndex) -> list[str]:
    """Chunks a vector query with their own stored vector does not return first."""
    found = index.collection.get(include=["embeddings"])
    missing = []
    # All results: boilerplate chunks ("Step 0") recur in many files with identical vectors.
    for chunk_id, vector in zip(found["ids"], found["embeddings"], strict=True):
        hit = index.collection.query(
            query_embeddings=[vector], n_results=len(found["ids"]), include=[]
        )
        if chunk_id not in hit["ids"][0]:
            missing.append(chunk_id)
    return missing


def test_two_cli_ingests_and_a_reader_on_one_disk_index(tmp_path, monkeypatch):
    first = make_corpus(tmp_path / "left", files=12, seed=1, prefix="a")
    second = make_corpus(tmp_path / "right", files=12, seed=2, prefix="b")
    index_dir = tmp_path / "index"
    env = rag_env(tmp_path, index_dir)
    stop = tmp_path / "stop-reader"
    started = time.monotonic()

    def spawn(*args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, *args], cwd=tmp_path, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )

    reader = spawn("-c", READER, str(stop))
    writers = [spawn("-m", "rag", "ingest", "left"), spawn("-m", "rag", "ingest", "right")]
    outputs = [w.communicate(timeout=600) for w in writers]
    stop.touch()
    reader_out, reader_err = reader.communicate(timeout=120)
    seconds = time.monotonic() - started

    for writer, (out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err[-3000:]
        assert "0 failed" in out, out
    assert reader.returncode == 0, reader_err[-3000:]
    rounds = reader_out.splitlines()
    assert rounds, "the reader never got going"

    monkeypatch.chdir(tmp_path)
    settings = disk_settings(tmp_path, index_dir)
    index = DocumentIndex(settings)
    state = check_consistent(index)
    expected = {f"left/{p.name}" for p in first} | {f"right/{p.name}" for p in second}
    assert set(state.chunks_by_source) == expected, "a writer's documents were lost"
    assert not unreachable_chunks(index), "chunks stored but not found by vector search"
    assert check_bm25_matches_store(index, settings, ["gasket valve", "flux capacitor"]) > 0
    # Both corpora hold the sample PDF under different names: each copy is complete.
    for name in ("left/asample.pdf", "right/bsample.pdf"):
        assert state.chunks_by_source[name] == 3
    failed_rounds = [line for line in rounds if " failed: " in line]
    print(f"two writers + reader: {seconds:.0f} s, {state.total_chunks} chunks; reader rounds "
          f"{len(rounds)}, failed {len(failed_rounds)}: {failed_rounds[:2]}")


def test_a_process_that_has_the_index_open_sees_a_cli_ingest(tmp_path, monkeypatch, embeddings):
    monkeypatch.chdir(tmp_path)
    make_corpus(tmp_path / "left", files=2, seed=1, prefix="a")
    make_corpus(tmp_path / "right", files=2, seed=2, prefix="b")
    settings = disk_settings(tmp_path, tmp_path / "index")
    env = rag_env(tmp_path, tmp_path / "index")
    first = run_rag(tmp_path, env, "ingest", "left")
    assert first.returncode == 0, first.stderr[-2000:]
    app_index = DocumentIndex(settings, embeddings=embeddings)  # the app's long-lived index
    assert len(app_index.list_documents()) == 3
    assert app_index.search("gasket", k=2)  # a session has asked a question: HNSW loaded
    assert not unreachable_chunks(app_index)

    second = run_rag(tmp_path, env, "ingest", "right")
    assert second.returncode == 0, second.stderr[-2000:]
    # Chroma alone fails here ("Error finding id": this process keeps a stale view of the
    # on-disk segments); the store's write marker makes the index re-open first.
    state = check_consistent(app_index)
    assert len(state.chunks_by_source) == 6
    assert not unreachable_chunks(app_index)


def test_two_threads_sharing_one_index_like_two_app_sessions(tmp_path, monkeypatch, embeddings):
    monkeypatch.chdir(tmp_path)
    first = make_corpus(tmp_path / "left", files=6, seed=4, prefix="a")
    second = make_corpus(tmp_path / "right", files=6, seed=5, prefix="b")
    settings = disk_settings(tmp_path, tmp_path / "index")
    index = DocumentIndex(settings, embeddings=embeddings)
    errors: list[BaseException] = []
    done = threading.Event()

    def guarded(work) -> None:
        try:
            work()
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    def upload(files) -> None:
        for path in files:  # one upload at a time, as a session does
            report = index.ingest_bytes(path.read_bytes(), f"{path.parent.name}/{path.name}")
            assert report.failed == 0, report.summary()

    def browse() -> None:
        from rag.store.bm25 import bm25_search

        while not done.is_set():
            index.list_documents()
            index.search("tighten the bracket", k=3)
            bm25_search(index, "bracket", k=3, settings=settings)

    writers = [threading.Thread(target=guarded, args=(lambda f=f: upload(f),))
               for f in (first, second)]
    browser = threading.Thread(target=guarded, args=(browse,))
    for thread in (*writers, browser):
        thread.start()
    for thread in writers:
        thread.join(timeout=600)
    done.set()
    browser.join(timeout=60)
    assert not errors, errors

    state = check_consistent(index)
    expected = {f"left/{p.name}" for p in first} | {f"right/{p.name}" for p in second}
    assert set(state.chunks_by_source) == expected
    assert not unreachable_chunks(index)
