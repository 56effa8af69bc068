"""Crash safety of ingestion: ``python -m rag ingest`` SIGKILLed at several points, then re-run.

The kills are placed by watching the child's own progress bar (stderr), not by sleeping:
once while the first embedding pass runs (nothing committed yet), once right after the first
files are committed (the kill lands among the per-file commits), and once deep into the
commits of a resumed run. The re-run must finish the work and leave an index that equals a
clean ingest of the same corpus, with BM25 agreeing with the vector store.

The in-process tests stop a write at the exact points a kill can hit between two store calls
(chunks written but no registry record; a delete half done) and check the next run repairs it.
"""

from __future__ import annotations

import fcntl
import re
import signal
import subprocess
import sys
import time

import pytest

from rag.errors import StoreError
from rag.store.index import DocumentIndex
from rag.store.sources import document_id
from tests.reliability.helpers import (
    ProgressWatch,
    check_bm25_matches_store,
    check_consistent,
    disk_settings,
    make_corpus,
    rag_env,
    run_rag,
    wait_until,
)

pytestmark = pytest.mark.slow

KILL_WAIT = 300  # seconds to reach a kill point; the CPU is shared, model loading is slow


def ingest_and_kill(root, env, reached) -> ProgressWatch:
    """Start ``python -m rag ingest corpus``; SIGKILL it once ``reached(watch)`` is true."""
    child = subprocess.Popen(
        [sys.executable, "-m", "rag", "ingest", "corpus"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    # A one-page pipe: the child blocks on its progress output instead of running far ahead
    # of this (slower, shared-CPU) reader, so the kill lands near the point asked for.
    fcntl.fcntl(child.stderr.fileno(), fcntl.F_SETPIPE_SZ, 4096)
    watch = ProgressWatch()
    pump = watch.follow(child.stderr)
    try:
        hit = wait_until(lambda: reached(watch), KILL_WAIT, child)
        assert hit, f"kill point never reached (exit {child.poll()}):\n{watch.text[-2000:]}"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        pump.join(timeout=10)
    return watch


def _totals(stdout: str) -> tuple[int, int, int]:
    match = re.search(r"(\d+) ingested, (\d+) unchanged, (\d+) failed", stdout)
    assert match, stdout
    ingested, unchanged, failed = map(int, match.groups())
    return ingested, unchanged, failed


def test_sigkill_at_several_points_then_rerun_equals_a_clean_ingest(tmp_path, monkeypatch):
    files = make_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    env = rag_env(tmp_path, index_dir)
    started = time.monotonic()

    # 1. During the first embedding pass: nothing is committed yet.
    first = ingest_and_kill(tmp_path, env, lambda w: w.chunks_done > 0 or w.files_done > 0)
    # 2. Among the per-file commits, once the second file settles (commits are quick, so the
    #    kill lands some files later; where exactly depends on the scheduler).
    second = ingest_and_kill(tmp_path, env, lambda w: w.files_done >= 2)
    assert second.files_done < len(files), "run 2 finished before the kill: nothing was tested"
    # 3. A resumed run, killed once it commits its first new file (files committed by run 2
    #    are settled at once as unchanged).
    resumed_from = second.files_done
    third = ingest_and_kill(tmp_path, env, lambda w: w.files_done > resumed_from)
    print(f"killed at (files, chunks): {(first.files_done, first.chunks_done)}, "
          f"{(second.files_done, second.chunks_done)}, {(third.files_done, third.chunks_done)}")

    final = run_rag(tmp_path, env, "ingest", "corpus")
    assert final.returncode == 0, final.stderr[-3000:]
    ingested, unchanged, failed = _totals(final.stdout)
    assert failed == 0
    assert ingested + unchanged == len(files)
    assert unchanged >= third.files_done, "files committed before a kill must not be redone"
    killed_seconds = time.monotonic() - started

    monkeypatch.chdir(tmp_path)  # source keys ("corpus/doc00.md") as the CLI recorded them
    settings = disk_settings(tmp_path, index_dir)
    resumed = DocumentIndex(settings)
    state = check_consistent(resumed)
    assert len(state.chunks_by_source) == len(files)
    again = resumed.ingest_paths(["corpus"])  # nothing left to do
    assert (again.unchanged, again.chunks_embedded) == (len(files), 0)

    clean_settings = disk_settings(tmp_path, tmp_path / "clean-index")
    clean = DocumentIndex(clean_settings, embeddings=resumed.embeddings)
    report = clean.ingest_paths([tmp_path / "corpus"])
    assert report.failed == 0
    reference = check_consistent(clean)
    assert state.chunks_by_source == reference.chunks_by_source
    assert state.ids_by_source == reference.ids_by_source
    assert state.total_chunks == reference.total_chunks

    queries = ["descale the boiler valve", "unit07 gasket", "flux capacitor gigawatts"]
    assert check_bm25_matches_store(resumed, settings, queries) > 0
    hits = resumed.search("flux capacitor gigawatts", k=3)
    assert hits and hits[0].doc.metadata["source"] == "corpus/sample.pdf"
    print(f"kills + resume: {killed_seconds:.0f} s, {state.total_chunks} chunks")


# -- exact crash points, in process ------------------------------------------------------------
class _CrashOn:
    """A store collection whose chosen write method "crashes" (raises) once it is called."""

    def __init__(self, target, method: str, after_calls: int = 0) -> None:
        self._target, self._method, self._left = target, method, after_calls

    def __getattr__(self, name):
        attribute = getattr(self._target, name)
        if name != self._method:
            return attribute

        def crashing(*args, **kwargs):
            if self._left == 0:
                raise RuntimeError("simulated crash")
            self._left -= 1
            return attribute(*args, **kwargs)

        return crashing


@pytest.fixture
def small_index(tmp_path, monkeypatch, embeddings):
    monkeypatch.chdir(tmp_path)
    make_corpus(tmp_path / "corpus", files=4, seed=3)
    settings = disk_settings(tmp_path, tmp_path / "index", collection="crashpoints")
    return DocumentIndex(settings, embeddings=embeddings), settings


def test_chunks_written_without_their_registry_record_are_finished_by_the_next_run(
    small_index,
):
    index, settings = small_index
    index.registry = _CrashOn(index.registry, "upsert", after_calls=1)
    with pytest.raises(StoreError, match="simulated crash"):
        index.ingest_paths(["corpus"])
    listed = {d.source for d in index.list_documents()}
    assert len(listed) == 1  # first file committed, second file's chunks without a record
    orphans = {
        str(c.metadata["doc_id"]) for c in index.iter_chunks()
    } - {d.doc_id for d in index.list_documents()}
    assert orphans, "the crash point must leave chunks without a registry record"

    fresh = DocumentIndex(settings, embeddings=index.embeddings)
    report = fresh.ingest_paths(["corpus"])
    assert report.failed == 0 and report.unchanged == 1
    # The half-written file's chunks were reused, not embedded again.
    assert report.chunks_embedded < sum(f.chunks for f in report.files if f.status == "ingested")
    check_consistent(fresh)


def test_a_delete_cut_short_is_not_mistaken_for_a_complete_document(small_index):
    index, settings = small_index
    assert index.ingest_paths(["corpus"]).failed == 0
    victim = "corpus/doc00.md"
    doc_id = document_id(victim)
    chunks_before = len(index.get_chunks(doc_id))
    assert chunks_before >= 2
    # The process dies after the first chunk delete call of this document.
    index._max_batch = lambda: 1  # one chunk per delete call, so the cut lands mid-document
    index.collection = _CrashOn(index.collection, "delete", after_calls=1)
    with pytest.raises(StoreError, match="simulated crash"):
        index.delete(victim)

    fresh = DocumentIndex(settings, embeddings=index.embeddings)
    # Either the document is still complete, or it is visibly unfinished (no record): a
    # registry record claiming chunks that are gone would make the next ingest skip it.
    record = {d.doc_id: d for d in fresh.list_documents()}.get(doc_id)
    if record is not None:
        assert len(fresh.get_chunks(doc_id)) == record.chunks
    report = fresh.ingest_paths(["corpus"])
    assert report.failed == 0
    state = check_consistent(fresh)
    assert state.chunks_by_source[victim] == chunks_before
    # Deleting it again after the cut works too and leaves nothing behind.
    fresh.delete(victim)
    assert not fresh.get_chunks(doc_id)
    check_consistent(fresh)


def test_a_collection_drop_cut_short_leaves_no_records_of_missing_chunks(small_index):
    index, settings = small_index
    assert index.ingest_paths(["corpus"]).failed == 0
    index.client = _CrashOn(index.client, "delete_collection", after_calls=1)
    with pytest.raises(StoreError, match="simulated crash"):
        index.drop()

    fresh = DocumentIndex(settings, embeddings=index.embeddings)
    for info in fresh.list_documents():  # whatever survived must still be whole
        assert len(fresh.get_chunks(info.doc_id)) == info.chunks, info.source
    report = fresh.ingest_paths(["corpus"])
    assert report.failed == 0
    assert len(check_consistent(fresh).chunks_by_source) == len(report.files)
