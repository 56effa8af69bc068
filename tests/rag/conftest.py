"""Index fixtures (settings in tmp_path for each store mode, a real ``chroma run`` server) and
the packaged LLM converted once."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from rag.llm.local import convert_gguf, packaged_gguf_path
from rag.settings import ChunkSettings, IngestSettings, Settings, StoreSettings
from rag.store.embeddings import LocalEmbeddings
from tests.servers.processes import free_port, stop_process, wait_for_http

CHROMA = Path(sys.executable).parent / "chroma"
STORE_MODE_PARAMS = [
    "memory",
    "disk",
    pytest.param("server", marks=pytest.mark.server),
]


def wait_for_heartbeat(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
    wait_for_http(url, process, timeout, f"chroma server on port {port}")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real Chroma server (``chroma run``) on a free port; yields (host, port)."""
    folder = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(folder / "data"), "--host", "127.0.0.1",
         "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_heartbeat(port, process)
        yield "127.0.0.1", port
    finally:
        stop_process(process, timeout=10)
        log.close()


def unique_collection() -> str:
    # In-memory clients of one process share their collections: a name per test keeps
    # tests independent in every mode.
    return f"t{uuid.uuid4().hex[:12]}"


def make_settings(tmp_path: Path, mode: str, server: tuple[str, int] | None = None) -> Settings:
    host, port = server or ("127.0.0.1", 8000)
    return Settings(
        data_dir=tmp_path / "data",
        store=StoreSettings(
            mode=mode, path=tmp_path / "index", host=host, port=port,
            collection=unique_collection(),
        ),
        # Small chunks so that tiny test files still make several chunks.
        chunking=ChunkSettings(chunk_tokens=48, overlap_tokens=0),
        ingest=IngestSettings(upload_dir=tmp_path / "uploads"),
    )


@pytest.fixture(params=STORE_MODE_PARAMS)
def store_settings(request, tmp_path) -> Settings:
    """Settings for each store mode; the server mode starts the real server on first use."""
    server = request.getfixturevalue("chroma_server") if request.param == "server" else None
    return make_settings(tmp_path, request.param, server)


class CountingEmbeddings(LocalEmbeddings):
    """The real model, instrumented: counts every text it is asked to embed."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.texts_embedded = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts_embedded += len(texts)
        return super().embed_documents(texts)


@pytest.fixture
def counting_embeddings(embeddings) -> CountingEmbeddings:
    # Same model/device as the shared fixture, so the loaded weights are reused.
    return CountingEmbeddings(model=embeddings.model, device=embeddings.device)


@pytest.fixture(scope="session")
def project_cache_dir() -> Path:
    """The app's own cache folder: the converted model is reused across test runs."""
    return Settings().cache_dir


@pytest.fixture(scope="session")
def smollm2_folder(project_cache_dir: Path) -> Path:
    """The packaged SmolLM2 GGUF converted once to a transformers folder (cached)."""
    return convert_gguf(packaged_gguf_path(), project_cache_dir)
