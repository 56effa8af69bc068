"""Session-wide test setup: offline, no telemetry, and one real embedding model for all tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.servers.openai_stub import OpenAIStub

# Set before anything imports transformers/chromadb: nothing in a test run may reach a model
# hub or send telemetry, whatever the developer's shell has exported.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}
os.environ.update(OFFLINE_ENV)
# The suite's one shared model is the fp32 torch backend, whatever the app's default: the
# expected rankings and scores were set with it, and a Settings(cache_dir=tmp_path) on the
# onnx-int8 backend would export the model again in every such test. The onnx-int8 backend
# has its own tests (tests/rag/store/test_onnx_embeddings.py); subprocesses inherit this too.
os.environ["RAG_EMBEDDING__BACKEND"] = "torch"


@pytest.fixture(scope="session")
def embeddings():
    """The packaged all-MiniLM-L6-v2 (real model), loaded once and shared by every test."""
    from rag.settings import EmbeddingSettings, Settings
    from rag.store.embeddings import get_embeddings

    model = get_embeddings(Settings(embedding=EmbeddingSettings(backend="torch")))
    model.embed_query("warm-up")  # load now, so the first test's timing is not the load
    return model


# Two OpenAI-protocol stand-ins on 127.0.0.1: the endpoint the server configures and another a
# visitor might type (the endpoint and key-scoping tests of rag/ and ui/ both use them).
@pytest.fixture
def configured() -> Iterator[OpenAIStub]:
    with OpenAIStub() as server:
        yield server


@pytest.fixture
def other() -> Iterator[OpenAIStub]:
    with OpenAIStub() as server:
        yield server
