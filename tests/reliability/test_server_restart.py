"""A real ``chroma run`` server restarted under a live index, as the app holds it (one cached
DocumentIndex per process, built on the cached HttpClient): nothing is lost, and the same
object searches and ingests again once the server is back. While the server is down, calls
fail with a clear StoreError rather than hanging or crashing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rag.errors import StoreError
from rag.settings import ChunkSettings, Settings, StoreSettings
from rag.store.index import DocumentIndex
from tests.rag.conftest import CHROMA, free_port, unique_collection, wait_for_heartbeat
from tests.reliability.helpers import check_consistent, make_corpus
from tests.servers.processes import stop_process

pytestmark = [pytest.mark.slow, pytest.mark.server]


class ChromaServer:
    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = (self.folder / "server.log").open("ab")
        self.process = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(self.folder / "data"), "--host", "127.0.0.1",
             "--port", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for_heartbeat(self.port, self.process)

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process(self.process, timeout=20)
        self.process = None


@pytest.fixture
def server(tmp_path):
    chroma = ChromaServer(tmp_path, free_port())
    chroma.start()
    try:
        yield chroma
    finally:
        chroma.stop()


def test_restarted_server_loses_nothing_and_the_live_index_carries_on(
    tmp_path, monkeypatch, server, embeddings
):
    monkeypatch.chdir(tmp_path)
    make_corpus(tmp_path / "before", files=4, seed=11, prefix="a")
    make_corpus(tmp_path / "after", files=2, seed=12, prefix="b")
    settings = Settings(
        store=StoreSettings(mode="server", host="127.0.0.1", port=server.port,
                            collection=unique_collection()),
        chunking=ChunkSettings(chunk_tokens=64, overlap_tokens=0),
        cache_dir=tmp_path / "cache",
    )
    index = DocumentIndex(settings, embeddings=embeddings)
    assert index.ingest_paths(["before"]).failed == 0
    before = check_consistent(index)
    hits_before = [h.chunk_id for h in index.search("flux capacitor gigawatts", k=3)]

    server.stop()
    with pytest.raises(StoreError):  # down: a clear error, not a hang
        index.list_documents()

    server.start()  # same port, same data folder
    again = check_consistent(index)  # the same live object, as the app's cached index
    assert again == before, "documents ingested before the restart were lost"
    assert [h.chunk_id for h in index.search("flux capacitor gigawatts", k=3)] == hits_before
    report = index.ingest_paths(["before", "after"])
    assert (report.unchanged, report.ingested, report.failed) == (5, 3, 0)
    after = check_consistent(index)
    assert set(after.chunks_by_source) == set(before.chunks_by_source) | {
        "after/bdoc00.md", "after/bdoc01.txt", "after/bsample.pdf"}
    # A fresh index (a new session or process) sees the same.
    assert check_consistent(DocumentIndex(settings, embeddings=embeddings)) == after
