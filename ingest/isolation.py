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
  :class:`ingest.limits.Deadline` usually stops it first, with the same message);
* a parser bug or a crash fails that one file, with the reason.

Workers are started once from a fork server (never forked from the app process: its torch and
ONNX threads make a plain fork unsafe) with the parser libraries preloaded, and reused across
files and ingest runs: a small file costs a round trip over a pipe, not a process start.
:meth:`ParserPool.parse_in_order` keeps every worker busy on the files ahead, so parsing
overlaps with what the caller does with each result (chunking, embedding).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from ingest.errors import IngestError, NotADocumentError
from ingest.limits import ParseLimits
from ingest.parsed import ParsedFile

T = TypeVar("T")
ParseOutcome = ParsedFile | IngestError

_MB = 1024 * 1024
# The cooperative deadline fires at max_seconds where a parser checks it; this is how much
# longer a worker stuck inside one call gets before it is killed.
KILL_GRACE_S = 1.0
# Workers are replaced after this many files, so slow leaks in C libraries cannot build up.
TASKS_PER_WORKER = 200
# Imported once by the fork server, so a new worker starts with every parser loaded.
_PRELOAD = ["ingest.isolation", "ingest.registry"]


@dataclass(frozen=True)
class ParseRequest:
    """One file to parse: its bytes, its display name and the limits it runs under."""

    data: bytes
    name: str
    limits: ParseLimits


def memory_reason(limits: ParseLimits) -> str:
    return f"parsing needed more than {limits.max_memory_mb:,} MB"


def time_reason(limits: ParseLimits) -> str:
    return (f"parsing took longer than the limit of {limits.max_seconds:g} s; the parser "
            "process was stopped")


# -- the worker process ----------------------------------------------------------------------
def _address_space() -> int | None:
    """This process's virtual size in bytes (what ``RLIMIT_AS`` counts); None where the
    system does not say (no /proc: macOS, which does not enforce ``RLIMIT_AS`` either)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return None


def _serve(conn: Connection) -> None:
    """Worker loop: receive a request, parse it under the memory cap, send the outcome."""
    import resource

    from ingest import parse_bytes

    baseline = _address_space()
    _, hard = resource.getrlimit(resource.RLIMIT_AS)

    def cap_memory(soft: int) -> None:
        if baseline is None:
            return  # only the time limit holds here (see _address_space)
        limit = soft if hard == resource.RLIM_INFINITY else min(soft, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))

    while True:
        try:
            request: ParseRequest = conn.recv()
        except (EOFError, OSError):
            return  # the app went away
        retire = False
        cap_memory((baseline or 0) + request.limits.max_memory_mb * _MB)
        try:
            reply: tuple[Any, ...] = ("ok", parse_bytes(request.data, request.name,
                                                          request.limits))
        except NotADocumentError as exc:
            reply = ("not-a-document", exc.file, exc.reason)
        except IngestError as exc:
            reply = ("failed", exc.file, exc.reason)
        except MemoryError:
            retire = True  # a heap that ran out mid-way is not trusted with the next file
            reply = ("failed", request.name, memory_reason(request.limits))
        except Exception as exc:  # a parser bug fails this file, not the batch
            reply = ("failed", request.name, f"the parser failed: {type(exc).__name__}: {exc}")
        finally:
            cap_memory(hard)  # sending the reply must not run out
        del request
        conn.send((*reply, retire))
        if retire:
            return


# -- the app side ----------------------------------------------------------------------------
class _Worker:
    def __init__(self, context: Any) -> None:
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(target=_serve, args=(child_conn,), daemon=True,
                                       name="ingest-parser")
        self.process.start()
        child_conn.close()
        self.tasks = 0

    def stop(self) -> None:
        """Kill the process (it may be stuck in C code: no polite request would reach it)."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()

    def exit_description(self) -> str:
        self.process.join(1.0)
        code = self.process.exitcode
        if code is None:
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
    kill_at: float = 0.0


class ParserPool:
    """Worker processes that parse files, shared by every ingest of the app (thread-safe)."""

    def __init__(self, workers: int = 2) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(_PRELOAD)
        self._idle: list[_Worker] = []
        self._slots = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()

    def parse(self, data: bytes, name: str, limits: ParseLimits | None = None) -> ParsedFile:
        """Parse one file in a worker; raises :class:`IngestError` like ``parse_bytes``."""
        request = ParseRequest(data, name, limits or ParseLimits())
        for _, outcome in self.parse_in_order([request], lambda r: r):
            if isinstance(outcome, IngestError):
                raise outcome
            if outcome is not None:
                return outcome
        raise AssertionError("unreachable")

    def parse_in_order(
        self, jobs: Iterable[T], request: Callable[[T], ParseRequest | None]
    ) -> Iterator[tuple[T, ParseOutcome | None]]:
        """``(job, outcome)`` for each job, in the order given, parsing ahead in parallel.

        ``request(job)`` says what to parse for a job (called in order, a few jobs ahead of
        the one yielded); None means nothing to parse (outcome None), and an
        :class:`IngestError` it raises becomes that job's outcome. The outcome is the
        :class:`ParsedFile` or the :class:`IngestError` saying why the file failed. Close the
        iterator (``contextlib.closing``) when not running it to the end: parses still
        running for it are then stopped.
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
                    self._collect(window)
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
                worker.conn.send(task.request)
            except OSError:  # the worker died while idle: one fresh start, then give up
                self._release(worker, reuse=False)
                worker = self._acquire(block=True)
                assert worker is not None
                worker.conn.send(task.request)
            worker.tasks += 1
            task.worker = worker
            task.kill_at = time.monotonic() + task.request.limits.max_seconds + KILL_GRACE_S

    def _collect(self, window: deque[_Task[T]]) -> None:
        """Wait for any running task to answer or overrun, and settle those that did."""
        running = [t for t in window if t.worker is not None and not t.done]
        timeout = max(0.0, min(t.kill_at for t in running) - time.monotonic())
        ready = wait([t.worker.conn for t in running if t.worker is not None], timeout)
        now = time.monotonic()
        for task in running:
            worker, request = task.worker, task.request
            assert worker is not None and request is not None
            if worker.conn in ready:
                task.outcome, reuse = self._receive(worker, request)
            elif now >= task.kill_at:
                task.outcome, reuse = IngestError(request.name, time_reason(request.limits)), False
            else:
                continue
            task.done, task.worker = True, None
            self._release(worker, reuse)

    @staticmethod
    def _receive(worker: _Worker, request: ParseRequest) -> tuple[ParseOutcome, bool]:
        try:
            kind, *body, retire = worker.conn.recv()
        except (EOFError, OSError):
            how = worker.exit_description()
            return IngestError(request.name, f"the parser process {how} (parsing may have "
                                             f"needed more than {request.limits.max_memory_mb:,} "
                                             "MB, or the parser crashed)"), False
        if kind == "ok":
            return body[0], not retire
        error = NotADocumentError if kind == "not-a-document" else IngestError
        return error(body[0], body[1]), not retire

    def _acquire(self, block: bool) -> _Worker | None:
        if not self._slots.acquire(blocking=block):
            return None
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is not None and worker.process.is_alive():
            return worker
        if worker is not None:
            worker.stop()
        try:
            return _Worker(self._context)
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
        if workers not in _pools:
            _pools[workers] = ParserPool(workers)
        return _pools[workers]
