"""The parser worker processes: hard time and memory limits on real hostile files, the same
result as an in-process parse for good ones, files kept in order, workers reused."""

from __future__ import annotations

import time
from contextlib import closing
from pathlib import Path

import pytest

from ingest import IngestError, ParseLimits, parse_bytes
from ingest.errors import NotADocumentError
from ingest.isolation import KILL_GRACE_S, ParseRequest, ParserPool
from tests.ingest.conftest import read
from tests.ingest.hostile_files import (
    expansion_bomb_json,
    memory_bomb_json,
    memory_bomb_xml,
    slow_pdf,
)

SHORT = ParseLimits(max_seconds=0.5)
# Not for PDFs: pdfium reserves address space up front and aborts when it cannot.
SMALL = ParseLimits(max_memory_mb=100)


@pytest.fixture(scope="module")
def pool():
    pool = ParserPool(workers=2)
    try:
        yield pool
    finally:
        pool.close()


def _units(parsed):
    return [(u.page_content, u.metadata) for u in parsed.units]


@pytest.mark.parametrize("name", ["sample.pdf", "guide.html", "catalog.json", "events.jsonl",
                                  "catalog.xml", "guide.md", "notes.txt"])
def test_a_worker_parses_like_the_app_process(pool, name):
    data = read(name)
    isolated, local = pool.parse(data, name), parse_bytes(data, name)
    assert (isolated.format, isolated.title, isolated.warnings) == (
        local.format, local.title, local.warnings)
    assert _units(isolated) == _units(local)


def test_a_parser_stuck_in_one_call_is_killed(pool):
    data = slow_pdf()  # one page: pdfium's text extraction takes ~4 s here, in one C call
    started = time.monotonic()
    with pytest.raises(IngestError) as caught:
        pool.parse(data, "slow.pdf", SHORT)
    elapsed = time.monotonic() - started
    assert caught.value.file == "slow.pdf"
    assert caught.value.reason == ("parsing took longer than the limit of 0.5 s; the parser "
                                   "process was stopped")
    assert elapsed < SHORT.max_seconds + KILL_GRACE_S + 1.5
    assert pool.parse(b"still parsing", "after.txt").units[0].page_content == "still parsing"


def test_a_memory_bomb_fails_with_the_memory_limit(pool):
    with pytest.raises(IngestError) as caught:
        pool.parse(memory_bomb_json(), "bomb.json", SMALL)
    assert caught.value.file == "bomb.json"
    assert caught.value.reason == "parsing needed more than 100 MB"
    # Within the default limit the same file parses: it was the cap, not the file.
    assert len(pool.parse(memory_bomb_json(20_000), "fine.json").units) == 20_001


def test_a_c_parser_running_out_of_memory_is_reported_as_such(pool):
    with pytest.raises(IngestError) as caught:
        pool.parse(memory_bomb_xml(), "tree.xml", SMALL)
    # libxml2's own message stays in brackets; the limit is what the user can act on.
    assert caught.value.reason.startswith("parsing needed more than 100 MB (not well-formed XML")
    with pytest.raises(IngestError) as caught:  # a real syntax error is still one
        pool.parse(b"<r><a></r>", "bad.xml", SMALL)
    assert caught.value.reason.startswith("not well-formed XML at line 1, column 10")


def test_an_expansion_bomb_fails_with_its_reason(pool):
    with pytest.raises(IngestError, match=r"parsing expands the 0\.24 MB file"):
        pool.parse(expansion_bomb_json(), "expands.json")


def test_errors_keep_their_kind(pool):
    with pytest.raises(NotADocumentError, match="binary data"):
        pool.parse(b"\x00\x01\x02\x03" * 100, "blob")
    with pytest.raises(IngestError) as caught:
        pool.parse(b'{"a": ', "cut.json")
    assert caught.value.reason.startswith("invalid JSON at line 1")


def test_results_come_in_order_and_one_bad_file_does_not_stop_the_rest(pool):
    jobs = [
        ("one.txt", b"first file"),
        ("slow.pdf", slow_pdf()),
        ("unread.txt", None),  # the caller's own refusal (unreadable file, say)
        ("skip.txt", b""),  # nothing to parse for this one
        ("bomb.json", memory_bomb_json()),
        ("two.txt", b"second file"),
    ]

    def request(job):
        name, data = job
        if data is None:
            raise IngestError(name, "cannot read file")
        return ParseRequest(data, name, SHORT if name.endswith(".pdf") else SMALL) if data else None

    outcomes = list(pool.parse_in_order(jobs, request))
    assert [job[0] for job, _ in outcomes] == [name for name, _ in jobs]
    found = {job[0]: outcome for job, outcome in outcomes}
    assert found["one.txt"].units[0].page_content == "first file"
    assert found["two.txt"].units[0].page_content == "second file"
    assert found["slow.pdf"].reason.startswith("parsing took longer than the limit of 0.5 s")
    assert found["unread.txt"].reason == "cannot read file"
    assert found["skip.txt"] is None
    assert found["bomb.json"].reason == "parsing needed more than 100 MB"


def test_workers_are_reused_across_files(pool):
    started = time.perf_counter()
    for index in range(40):
        assert pool.parse(f"file {index}".encode(), f"f{index}.txt").units
    # A process start per file would take seconds; a round trip over a pipe, milliseconds.
    assert time.perf_counter() - started < 4.0


def test_stopping_early_frees_the_workers():
    pool = ParserPool(workers=1)
    try:
        jobs = [("slow.pdf", slow_pdf()), ("slow2.pdf", slow_pdf()), ("a.txt", b"a file")]
        parses = pool.parse_in_order(jobs, lambda j: ParseRequest(j[1], j[0], ParseLimits()))
        with closing(parses):
            pass  # never started: nothing to stop
        parses = pool.parse_in_order(
            [("a.txt", b"a file"), *jobs], lambda j: ParseRequest(j[1], j[0], ParseLimits()))
        with closing(parses):
            assert next(parses)[1].units[0].page_content == "a file"  # slow.pdf now running
        started = time.monotonic()
        assert pool.parse(b"next", "next.txt").units[0].page_content == "next"
        assert time.monotonic() - started < 2.0  # the running parse was stopped, not awaited
    finally:
        pool.close()


def test_workers_do_not_get_the_apps_keys(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-in-a-parser")
    pool = ParserPool(workers=1)
    try:
        assert pool.parse(b"a file", "a.txt").units
        (worker,) = pool._idle
        environ = Path(f"/proc/{worker.process.pid}/environ").read_bytes()
        assert b"sk-never-in-a-parser" not in environ
        assert b"PYTHONPATH=" in environ
    finally:
        pool.close()
