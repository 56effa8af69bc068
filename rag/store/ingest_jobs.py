"""Background ingest jobs: ingestion in a daemon thread, watched through thread-safe snapshots.

A web page must not wait for a long ingest: the page starts an ``IngestJob``, keeps only its id,
and polls ``snapshot()`` to draw progress. Jobs live in a process-wide registry so any later
script run (or another page of the same session) can find the job again by id.

No cancel: an ingest commits file by file, so a job stopped half-way would leave nothing broken,
but nothing here needs to stop one either; the thread is a daemon so it never blocks exit.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.errors import IngestError
from rag.errors import RagError

if TYPE_CHECKING:
    from rag.store.index import DocumentIndex
    from rag.store.results import IngestProgress, IngestReport

log = logging.getLogger(__name__)

# Finished jobs kept for late readers (a page that comes back after the job ended); older
# finished ones are dropped so a long-running server does not grow without bound.
KEEP_FINISHED_JOBS = 64


@dataclass(frozen=True)
class JobSnapshot:
    """One consistent view of a job, safe to read from any thread."""

    job_id: str
    files_total: int
    progress: IngestProgress | None  # the latest event; None before the first one
    finished: bool
    report: IngestReport | None  # set when the ingest returned
    error: str  # set when the ingest raised instead (then report is None)
    started_at: float  # time.time() when the job started
    seconds: float  # running time so far, or the total once finished

    @property
    def fraction(self) -> float:
        """Files settled as a share of all files, for a progress bar (1.0 once finished)."""
        if self.finished:
            return 1.0
        if self.progress is None:
            return 0.0
        return min(self.progress.files_done / max(self.progress.files_total, 1), 1.0)

    @property
    def progress_text(self) -> str:
        """Where the ingest is, in words: "3/14 files · 120 chunks · 27.5 chunks/s · a.pdf"."""
        event = self.progress
        if event is None:
            return f"Preparing {self.files_total} file(s)…"
        current = f" · {Path(event.current).name}" if event.current else ""
        if event.ocr is not None:  # seconds a page: say which page, not only which file
            current += f" · OCR page {event.ocr.page} ({event.ocr.done}/{event.ocr.total})"
        return (f"{event.files_done}/{event.files_total} files · {event.chunks_done} chunks · "
                f"{event.chunks_per_s:.1f} chunks/s{current}")


class IngestJob:
    """``DocumentIndex.ingest_paths`` run in a daemon thread."""

    def __init__(
        self,
        index: DocumentIndex,
        paths: Sequence[Path | str],
        *,
        force: bool = False,
        job_id: str | None = None,
    ) -> None:
        self.job_id = job_id or uuid.uuid4().hex
        self._index = index
        self._paths = [Path(p) for p in paths]
        self._force = force
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._progress: IngestProgress | None = None
        self._report: IngestReport | None = None
        self._error = ""
        self._started_at = 0.0
        self._started_clock = 0.0
        self._seconds = 0.0
        self._thread = threading.Thread(
            target=self._run, name=f"ingest-{self.job_id[:8]}", daemon=True
        )

    def start(self) -> IngestJob:
        with self._lock:
            self._started_at = time.time()
            self._started_clock = time.perf_counter()
        self._thread.start()
        return self

    def _on_progress(self, event: IngestProgress) -> None:
        with self._lock:
            self._progress = event

    def _run(self) -> None:
        try:
            report = self._index.ingest_paths(
                self._paths, progress=self._on_progress, force=self._force
            )
        except (RagError, IngestError) as exc:
            self._finish(None, str(exc))
        except Exception as exc:  # a thread must report its failure, not die silently
            # The message may come from a third party; keep details in the log, not the page.
            log.exception("ingest job %s failed", self.job_id)
            self._finish(None, f"ingest failed ({type(exc).__name__}); details in the log")
        else:
            self._finish(report, "")

    def _finish(self, report: IngestReport | None, error: str) -> None:
        with self._lock:
            self._report, self._error = report, error
            self._seconds = time.perf_counter() - self._started_clock
        self._done.set()

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            finished = self._done.is_set()
            seconds = (
                self._seconds
                if finished
                else (time.perf_counter() - self._started_clock if self._started_clock else 0.0)
            )
            return JobSnapshot(
                job_id=self.job_id,
                files_total=len(self._paths),
                progress=self._progress,
                finished=finished,
                report=self._report,
                error=self._error,
                started_at=self._started_at,
                seconds=seconds,
            )

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (or the timeout passes); True when it ended."""
        return self._done.wait(timeout)


# -- process-wide registry -------------------------------------------------------------------
_jobs: dict[str, IngestJob] = {}
_jobs_lock = threading.Lock()
# Named jobs (one ingest of one thing into one index): name -> id of the latest job started
# under it. A script rerun cannot hold a job itself (Streamlit may replace the run mid-way), so
# whoever comes next finds the running job by name instead of starting a second one.
_named: dict[str, str] = {}


def start_ingest_job(
    index: DocumentIndex, paths: Sequence[Path | str], *, force: bool = False
) -> IngestJob:
    """Register and start a job; its id finds it again with ``get_job``."""
    job = IngestJob(index, paths, force=force)
    with _jobs_lock:
        _jobs[job.job_id] = job
        _drop_old_finished()
    return job.start()


def start_named_ingest_job(
    name: str, index: DocumentIndex, paths: Sequence[Path | str], *, force: bool = False
) -> IngestJob:
    """The job running under ``name``, or a new one started under it: never two at once."""
    with _jobs_lock:
        running = _jobs.get(_named.get(name, ""))
        if running is not None and not running.finished:
            return running
        job = IngestJob(index, paths, force=force)
        _jobs[job.job_id] = job
        _named[name] = job.job_id
        _drop_old_finished()
    return job.start()


def named_job(name: str) -> IngestJob | None:
    """The latest job started under ``name`` (running or finished), while it is registered."""
    with _jobs_lock:
        return _jobs.get(_named.get(name, ""))


def get_job(job_id: str) -> IngestJob | None:
    with _jobs_lock:
        return _jobs.get(job_id)


def forget_job(job_id: str) -> None:
    """Drop a job from the registry (a running job keeps running; only its handle goes)."""
    with _jobs_lock:
        _jobs.pop(job_id, None)


def _drop_old_finished() -> None:
    finished = [job_id for job_id, job in _jobs.items() if job.finished]  # insertion order
    for job_id in finished[: max(len(finished) - KEEP_FINISHED_JOBS, 0)]:
        del _jobs[job_id]
    for name in [n for n, job_id in _named.items() if job_id not in _jobs]:
        del _named[name]
