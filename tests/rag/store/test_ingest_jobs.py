"""Background ingest jobs over a real in-memory index and the real embedding model."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rag.store.index import DocumentIndex
from rag.store.ingest_jobs import IngestJob, forget_job, get_job, start_ingest_job
from tests.rag.conftest import make_settings

pytestmark = pytest.mark.slow

SECTION = "## Part {n}\n\nThe Zephyr-{n} coffee machine must be descaled every {d} days.\n\n"


def write_corpus(folder: Path, good: int = 4) -> list[Path]:
    """A few small Markdown files, then a broken PDF that the PDF parser refuses (binary data
    that is no document at all is skipped, not failed: see tests/rag/store/test_index.py)."""
    folder.mkdir()
    paths = []
    for i in range(good):
        path = folder / f"manual_{i}.md"
        body = "".join(SECTION.format(n=i * 10 + j, d=30 + j) for j in range(6))
        path.write_text(f"# Manual {i}\n\n{body}", encoding="utf-8")
        paths.append(path)
    bad = folder / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\n\x00\x01\x02 truncated before any object \xff\xfe")
    return [*paths, bad]


@pytest.fixture
def index(tmp_path, embeddings) -> DocumentIndex:
    return DocumentIndex(make_settings(tmp_path, "memory"), embeddings=embeddings)


def poll_until_finished(job: IngestJob, timeout: float = 120.0) -> list:
    snapshots = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = job.snapshot()
        snapshots.append(snapshot)
        if snapshot.finished:
            return snapshots
        time.sleep(0.01)
    raise AssertionError(f"job did not finish within {timeout:g} s")


def test_job_finishes_with_per_file_results_and_a_failed_bad_file(tmp_path, index):
    paths = write_corpus(tmp_path / "corpus")
    job = start_ingest_job(index, paths)
    try:
        assert get_job(job.job_id) is job
        snapshots = poll_until_finished(job)
    finally:
        forget_job(job.job_id)
    assert get_job(job.job_id) is None

    final = snapshots[-1]
    assert final.finished and final.error == "" and final.fraction == 1.0
    report = final.report
    assert report is not None
    assert [Path(r.path).name for r in report.files] == [p.name for p in paths]
    assert [r.status for r in report.files] == ["ingested"] * 4 + ["failed"]
    assert report.files[-1].reason  # the bad file says why
    assert all(r.chunks > 0 for r in report.files[:4])
    assert final.progress is not None
    assert final.progress.files_done == final.progress.files_total == len(paths)
    assert final.progress.chunks_done == sum(r.chunks for r in report.files)
    # The documents are searchable once the job says it is done.
    assert index.search("How often is the Zephyr-12 descaled?", k=1)


def test_progress_snapshots_advance_while_the_job_runs(tmp_path, index):
    paths = write_corpus(tmp_path / "corpus", good=3)
    # Hold the index's write lock (as a concurrent ingest would) so the job is caught before
    # its first progress event: the "not started yet" snapshot is then certain, not a race.
    with index._write_lock:
        job = start_ingest_job(index, paths)
        waiting = job.snapshot()
        time.sleep(0.2)
        assert not job.finished
    snapshots = [waiting, *poll_until_finished(job)]
    forget_job(job.job_id)

    assert waiting.progress is None and not waiting.finished and waiting.fraction == 0.0
    assert waiting.files_total == len(paths)
    seen = [s.progress for s in snapshots if s.progress is not None]
    files_done = [p.files_done for p in seen]
    chunks_done = [p.chunks_done for p in seen]
    assert files_done == sorted(files_done) and files_done[-1] == len(paths)
    assert chunks_done[-1] > 0 and seen[-1].chunks_per_s > 0
    assert [s.seconds for s in snapshots] == sorted(s.seconds for s in snapshots)
    # What both pages show under their progress bars.
    assert waiting.progress_text == f"Preparing {len(paths)} file(s)…"
    last = next(s for s in reversed(snapshots) if s.progress is not None)
    assert last.progress_text.startswith(
        f"{len(paths)}/{len(paths)} files · {last.progress.chunks_done} chunks · ")
    assert "chunks/s" in last.progress_text


def test_unchanged_files_are_reported_unchanged_by_a_second_job(tmp_path, index):
    paths = write_corpus(tmp_path / "corpus", good=2)[:2]
    first = start_ingest_job(index, paths)
    assert first.wait(120)
    second = start_ingest_job(index, paths)
    assert second.wait(120)
    report = second.snapshot().report
    assert report is not None and [r.status for r in report.files] == ["unchanged"] * 2
    assert report.chunks_embedded == 0
    for job in (first, second):
        forget_job(job.job_id)


def test_progress_text_names_the_page_being_read_by_ocr():
    from ingest.ocr import OcrPage
    from rag.store.ingest_jobs import JobSnapshot
    from rag.store.results import IngestProgress

    event = IngestProgress(files_done=1, files_total=3, chunks_done=12, chunks_per_s=4.0,
                           current="uploads/scan.pdf", ocr=OcrPage("uploads/scan.pdf", 7, 2, 5,
                                                                   2.5))
    snapshot = JobSnapshot("id", 3, event, False, None, "", 0.0, 1.0)
    assert snapshot.progress_text == ("1/3 files · 12 chunks · 4.0 chunks/s · scan.pdf · "
                                      "OCR page 7 (2/5)")
