"""Fixtures for the LLM backend tests: protocol stand-ins and the packaged model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.llm.local import convert_gguf, packaged_gguf_path
from rag.settings import Settings
from tests.servers.http_stub import TEST_API_KEY as SECRET_KEY
from tests.servers.openai_stub import OpenAIStub
from tests.servers.tgi_stub import TGIStub


@pytest.fixture
def openai_server() -> Iterator[OpenAIStub]:
    with OpenAIStub(api_key=SECRET_KEY) as server:
        yield server


@pytest.fixture
def tgi_server() -> Iterator[TGIStub]:
    with TGIStub(api_key=SECRET_KEY) as server:
        yield server


@pytest.fixture(scope="session")
def project_cache_dir() -> Path:
    """The app's own cache folder: the converted model is reused across test runs."""
    return Settings().cache_dir


@pytest.fixture(scope="session")
def smollm2_folder(project_cache_dir: Path) -> Path:
    """The packaged SmolLM2 GGUF converted once to a transformers folder (cached)."""
    return convert_gguf(packaged_gguf_path(), project_cache_dir)
