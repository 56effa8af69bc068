"""The parser worker process: ``python -m ingest.parse_worker REQUEST_FD REPLY_FD``.

Started and stopped by :mod:`ingest.isolation`; reads :class:`ingest.isolation.ParseRequest`
objects from one pipe and writes each outcome to the other, parsing under a memory cap. Before
the outcome, a file read by OCR sends one ``("progress", OcrPage, False)`` per page; each
page read moves the time the app allows the parse on (the worker's own deadline moves alike).
"""

from __future__ import annotations

import os
import sys
from multiprocessing.connection import Connection
from typing import Any

from ingest.errors import IngestError, NotADocumentError
from ingest.isolation import ParseRequest, memory_reason

_MB = 1024 * 1024
# A failed parse whose resident memory grew to this share of the limit is reported as out of
# memory: the address-space cap is reached before the pages are all touched.
_NEAR_LIMIT = 0.6


def _address_space() -> int | None:
    """This process's virtual size in bytes (what ``RLIMIT_AS`` counts); None where the
    system does not say (no /proc: macOS, which does not enforce ``RLIMIT_AS`` either)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return None


def _status_bytes(field: str) -> int:
    """A memory figure of this process from /proc/self/status ("VmRSS", "VmHWM"); 0 where
    the system does not say."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    return 0


def _reset_peak() -> None:
    """Start the resident high-water mark (VmHWM) afresh, so it measures one parse."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass  # then the peak is the worker's lifetime one: _ran_out only sees it grow


def _ran_out(peak_before: int, resident_before: int, limit_mb: int) -> bool:
    """Whether a failed parse had filled its memory: C parsers that cannot allocate say so in
    their own words ("unknown error", "Memory allocation failed"), not with a MemoryError."""
    peak = _status_bytes("VmHWM")
    return peak > peak_before and peak - resident_before >= _NEAR_LIMIT * limit_mb * _MB


def serve(requests: Connection, replies: Connection) -> None:
    """Worker loop: receive a request, parse it under the memory cap, send the outcome."""
    import resource

    from ingest import parse_bytes
    from ingest.registry import PARSERS

    assert PARSERS  # every parser library loaded before the baseline is taken
    baseline = _address_space()
    _, hard = resource.getrlimit(resource.RLIMIT_AS)

    def cap_memory(soft: int) -> None:
        if baseline is None:
            return  # only the time limit holds here (see _address_space)
        limit = soft if hard == resource.RLIM_INFINITY else min(soft, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))

    while True:
        try:
            request: ParseRequest = requests.recv()
        except (EOFError, OSError):
            return  # the app went away
        retire = False
        _reset_peak()
        peak_before, resident_before = _status_bytes("VmHWM"), _status_bytes("VmRSS")
        cap_memory((baseline or 0) + request.limits.max_memory_mb * _MB)
        try:
            parsed = parse_bytes(request.data, request.name, request.limits, request.ocr,
                                 progress=lambda page: replies.send(("progress", page, False)))
            reply: tuple[Any, ...] = ("ok", parsed)
        except NotADocumentError as exc:
            reply = ("not-a-document", exc.file, exc.reason)
        except IngestError as exc:
            reply = ("failed", exc.file, exc.reason)
            if _ran_out(peak_before, resident_before, request.limits.max_memory_mb):
                retire = True
                reply = ("failed", exc.file, f"{memory_reason(request.limits)} ({exc.reason})")
        except MemoryError:
            retire = True  # a heap that ran out mid-way is not trusted with the next file
            reply = ("failed", request.name, memory_reason(request.limits))
        except Exception as exc:  # a parser bug fails this file, not the batch
            reply = ("failed", request.name, f"the parser failed: {type(exc).__name__}: {exc}")
        finally:
            cap_memory(hard)  # sending the reply must not run out
        del request
        replies.send((*reply, retire))
        if retire:
            return


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]),
                                                                   readable=False))
