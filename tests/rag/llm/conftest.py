"""Fixtures for the LLM backend tests: protocol stand-ins (the packaged model is in
tests/rag/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
