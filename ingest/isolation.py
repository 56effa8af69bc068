"""Parsing in worker processes with hard time and memory limits.

A parser runs C code (pdfium, libxml2) and regular expressions that Python cannot interrupt,
so a cooperative time check cannot stop a file that makes one of them run for hours, and
nothing inside the app process can stop one that allocates gigabytes. Here each parse runs in
a worker process instead:

* its address space is capped (``RLIMIT_AS``: the worker's own size after start-up plus
  ``limits.max_memory_mb``), so a memory bomb ends in a ``MemoryError`` inside the worker,
  reported as "parsing needed more than N MB" (the worker is then replaced). Linux only:
  elsewhere the time limit still holds. C code that cannot allocate may abort instead
  (pdfium does): the file then fails naming the signal and the memory limit;
* it is killed when it runs ``KILL_GRACE_S`` past ``limits.max_seconds`` (the cooperative
  :class:`ingest.limits.Deadline` usually stops it first, with the same message). Each page
  the worker reports read by OCR moves that time on by ``limits.ocr_seconds_per_page``, up to
  ``limits.max_ocr_seconds`` (:meth:`ParseLimits.seconds_allowed`, which the worker's
  deadline follows too): a long scan earns its time, a hostile file cannot run forever;
* a parser bug or a crash fails that one file, with the reason.

Workers are processes of their own (``python -m ingest.parse_worker``: never forked from the
app, whose torch and ONNX threads make a fork unsafe), started on first use and reused across
files and ingest runs: a small file costs a round trip over a pipe, not a process start.
:meth:`ParserPool.parse_in_order` keeps every worker busy on the files ahead, so parsing
overlaps with what the caller does with each result (chunking, embedding).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Generic, TypeVar

from ingest.errors import IngestError, NotADocumentError
from ingest.limits import ParseLimits
from ingest.ocr import OcrOptions, OcrPage, time_hint
from ingest.parsed import ParsedFile

T = TypeVar("T")
ParseOutcome = ParsedFile | IngestError
ParseProgress = Callable[[OcrPage], None]

# The cooperative deadline fires at the time limit where a parser checks it; this is how much
# longer a worker stuck inside one call gets before it is killed.
KILL_GRACE_S = 1.0
# Workers are replaced after this many files, so slow leaks in C libraries cannot build up.
TASKS_PER_WORKER = 200
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]
_ENV_KEPT = frozenset({"PATH", "PYTHONPATH", "HOME", "TMPDIR", "LANG", "LANGUAGE"})


@dataclass(frozen=True)
class ParseRequest:
    """One file to parse: its bytes, its display name, the limits it runs under and how to
    OCR pages without text (None: no OCR)."""

    data: bytes
    name: str
    limits: ParseLimits
    ocr: OcrOptions | None = None


def memory_reason(limits: ParseLimits) -> str:
    return f"parsing needed more than {limits.max_memory_mb:,} MB"


def time_reason(limits: ParseLimits, ocr_pages: int = 0) -> str:
    """Why a worker was stopped, after ``ocr_pages`` pages read by OCR."""
    hint = f" ({time_hint(limits, ocr_pages)})" if ocr_pages else ""
    return (f"parsing took longer than {limits.describe_time_limit(ocr_pages)}; the parser "
            f"process was stopped{hint}")


# -- the app side ----------------------------------------------------------------------------
class _Worker:
    """One ``python -m ingest.parse_worker`` process and the two pipes to it.

    A process of its own, not a ``multiprocessing`` child: those import the app's main module
    again, and under Streamlit that is the page script (the app would run in every worker).
    """

    def __init__(self) -> None:
        reply_read, reply_write = os.pipe()
        request_read, request_write = os.pipe()
        # Only what Python and the locale need: the worker reads untrusted files and has no
        # use for the app's keys and endpoints.
        env = {k: v for k, v in os.environ.items() if k in _ENV_KEPT or k.startswith("LC_")}
        # The package may not be on the path from the working folder (tests, `rag` run
        # elsewhere): the worker imports it from where this process did.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ingest.parse_worker", str(request_read),
                 str(reply_write)],
                pass_fds=(request_read, reply_write),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # stderr stays: a crash's traceback reaches the log
                env=env,
                # Its own process group, killed whole by stop(): a worker stopped while
                # Tesseract reads a page for it leaves no Tesseract running.
                start_new_session=True,
            )
        except BaseException:
            for fd in (reply_read, reply_write, request_read, request_write):
                os.close(fd)
            raise
        os.close(request_read)
        os.close(reply_write)
        self.requests = Connection(request_write, readable=False)
        self.conn = Connection(reply_read, writable=False)  # what wait() watches
        self.tasks = 0

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Kill the process and its children (it may be stuck in C code, or waiting for
        Tesseract: no polite request would reach it)."""
        with contextlib.suppress(ProcessLookupError):  # the group is gone: nothing left
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.requests.close()
        self.conn.close()

    def exit_description(self) -> str:
        try:
            code = self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return "stopped answering"
        if code < 0:
            try:
                return f"was ended by {signal.Signals(-code).name}"
            except ValueError:
                return f"was ended by signal {-code}"
        return f"exited with code {code}"


@dataclass
class _Task(Generic[T]):
    job: T
    request: ParseRequest | None = None
    outcome: ParseOutcome | None = None
    done: bool = False
    worker: _Worker | None = None
    started: float = 0.0
    ocr_pages: int = 0  # pages the worker reported read by OCR: each moves kill_at on

    @property
    def kill_at(self) -> float:
        assert self.request is not None
        limit = self.request.limits.seconds_allowed(self.ocr_pages)
        return self.started + limit + KILL_GRACE_S


class ParserPool:
    """Worker processes that parse files, shared by every ingest of the app (thread-safe)."""

    def __init__(self, workers: int = 2) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self._idle: list[_Worker] = []
        self._slots = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()

    def parse(self, data: bytes, name: str, limits: ParseLimits | None = None,
              ocr: OcrOptions | None = None, progress: ParseProgress | None = None
              ) -> ParsedFile:
        """Parse one file in a worker; raises :class:`IngestError` like ``parse_bytes``."""
        request = ParseRequest(data, name, limits or ParseLimits(), ocr)
        for _, outcome in self.parse_in_order([request], lambda r: r, progress):
            if isinstance(outcome, IngestError):
                raise outcome
            if outcome is not None:
                return outcome
        raise AssertionError("unreachable")

    def parse_in_order(
        self,
        jobs: Iterable[T],
        request: Callable[[T], ParseRequest | None],
        progress: ParseProgress | None = None,
    ) -> Iterator[tuple[T, ParseOutcome | None]]:
        """``(job, outcome)`` for each job, in the order given, parsing ahead in parallel.

        ``request(job)`` says what to parse for a job (called in order, a few jobs ahead of
        the one yielded); None means nothing to parse (outcome None), and an
        :class:`IngestError` it raises becomes that job's outcome. The outcome is the
        :class:`ParsedFile` or the :class:`IngestError` saying why the file failed. Close the
        iterator (``contextlib.closing``) when not running it to the end: parses still
        running for it are then stopped. ``progress`` hears of each page a worker OCRs, for
        any file being parsed (it runs in this thread, while the iterator is advanced).
        """
        window: deque[_Task[T]] = deque()
        pending = iter(jobs)
        more = True
        try:
            while True:
                while more and len(window) <= self.workers:
                    try:
                        job = next(pending)
                    except StopIteration:
                        more = False
                        break
                    window.append(self._task(job, request))
                if not window:
                    return
                self._dispatch(window)
                head = window[0]
                while not head.done:
                    self._collect(window, progress)
                    self._dispatch(window)  # a worker freed behind the head takes the next
                window.popleft()
                yield head.job, head.outcome
        finally:
            for task in window:
                if task.worker is not None:
                    self._release(task.worker, reuse=False)

    def close(self) -> None:
        """Stop the idle workers (busy ones are stopped when their parse ends)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()

    # -- inside parse_in_order ---------------------------------------------------------------
    @staticmethod
    def _task(job: T, request: Callable[[T], ParseRequest | None]) -> _Task[T]:
        task = _Task(job)
        try:
            task.request = request(job)
        except IngestError as exc:
            task.outcome, task.done = exc, True
            return task
        task.done = task.request is None
        return task

    def _dispatch(self, window: deque[_Task[T]]) -> None:
        """Start waiting tasks on free workers; the first task waits for one if need be."""
        for position, task in enumerate(window):
            if task.done or task.worker is not None or task.request is None:
                continue
            worker = self._acquire(block=position == 0)
            if worker is None:
                return
            try:
                worker.requests.send(task.request)
            except OSError:  # the worker died while idle: one fresh start, then give up
                self._release(worker, reuse=False)
                worker = self._acquire(block=True)
                assert worker is not None
                worker.requests.send(task.request)
            worker.tasks += 1
            task.worker = worker
            task.started = time.monotonic()

    def _collect(self, window: deque[_Task[T]], progress: ParseProgress | None) -> None:
        """Wait for any running task to answer or overrun, and settle those that did; a
        progress message goes to ``progress`` and leaves its task running."""
        running = [t for t in window if t.worker is not None and not t.done]
        timeout = max(0.0, min(t.kill_at for t in running) - time.monotonic())
        ready = wait([t.worker.conn for t in running if t.worker is not None], timeout)
        now = time.monotonic()
        for task in running:
            worker, request = task.worker, task.request
            assert worker is not None and request is not None
            if worker.conn in ready:
                received = self._receive(task, worker, request, progress)
                if received is None:
                    continue
                task.outcome, reuse = received
            elif now >= task.kill_at:
                reason = time_reason(request.limits, task.ocr_pages)
                task.outcome, reuse = IngestError(request.name, reason), False
            else:
                continue
            task.done, task.worker = True, None
            self._release(worker, reuse)

    @staticmethod
    def _receive(
        task: _Task[T], worker: _Worker, request: ParseRequest, progress: ParseProgress | None
    ) -> tuple[ParseOutcome, bool] | None:
        """The task's outcome and whether its worker may be reused; None for a progress
        message, which is handed on (a page read by OCR moves the task's kill time on)."""
        try:
            kind, *body, retire = worker.conn.recv()
        except (EOFError, OSError):
            how = worker.exit_description()
            return IngestError(request.name, f"the parser process {how} (parsing may have "
                                             f"needed more than {request.limits.max_memory_mb:,} "
                                             "MB, or the parser crashed)"), False
        if kind == "progress":
            if body[0].read:
                task.ocr_pages += 1
            if progress is not None:
                progress(body[0])
            return None
        if kind == "ok":
            return body[0], not retire
        error = NotADocumentError if kind == "not-a-document" else IngestError
        return error(body[0], body[1]), not retire

    def _acquire(self, block: bool) -> _Worker | None:
        if not self._slots.acquire(blocking=block):
            return None
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is not None and worker.alive():
            return worker
        if worker is not None:
            worker.stop()
        try:
            return _Worker()
        except BaseException:
            self._slots.release()
            raise

    def _release(self, worker: _Worker, reuse: bool) -> None:
        if reuse and worker.tasks < TASKS_PER_WORKER:
            with self._lock:
                self._idle.append(worker)
        else:
            worker.stop()
        self._slots.release()


_pools: dict[int, ParserPool] = {}
_pools_lock = threading.Lock()


def get_parser_pool(workers: int) -> ParserPool:
    """The process-wide pool with this many workers, started on first use."""
    with _pools_lock:
        if not _pools:
            atexit.register(_close_pools)
        if workers not in _pools:
            _pools[workers] = ParserPool(workers)
        return _pools[workers]


def _close_pools() -> None:
    # Idle workers would exit anyway when their pipe closes; stopping them here is tidier.
    for pool in list(_pools.values()):
        pool.close()
