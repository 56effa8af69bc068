"""The parser worker process: ``python -m ingest.parse_worker REQUEST_FD REPLY_FD``.

Started and stopped by :mod:`ingest.isolation`; reads :class:`ingest.isolation.ParseRequest`
objects from one pipe and writes each outcome to the other, parsing under a memory cap.
"""

from __future__ import annotations

import os
import sys
from multiprocessing.connection import Connection
from typing import Any

from ingest.errors import IngestError, NotADocumentError
from ingest.isolation import ParseRequest, memory_reason

_MB = 1024 * 1024


def _address_space() -> int | None:
    """This process's virtual size in bytes (what ``RLIMIT_AS`` counts); None where the
    system does not say (no /proc: macOS, which does not enforce ``RLIMIT_AS`` either)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return None


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
        replies.send((*reply, retire))
        if retire:
            return


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]),
                                                                   readable=False))
