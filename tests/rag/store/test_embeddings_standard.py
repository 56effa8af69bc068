"""LangChain's standard Embeddings suites run against LocalEmbeddings (real packaged model)."""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from rag.store.embeddings import LocalEmbeddings

# The suites' async tests carry no marker and pytest-asyncio runs in strict mode here; the
# suites forbid overriding their tests, so the module is marked and pytest-asyncio's note that
# sync tests need no such mark is silenced.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.asyncio,
    pytest.mark.filterwarnings("ignore:The test <Function test_.*asyncio:pytest.PytestWarning"),
]


class TestLocalEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[LocalEmbeddings]:
        return LocalEmbeddings

    @property
    def embedding_model_params(self) -> dict:
        return {"model": "", "device": "cpu", "batch_size": 16}


class TestLocalEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[LocalEmbeddings]:
        return LocalEmbeddings

    @property
    def embedding_model_params(self) -> dict:
        return {"model": "", "device": "cpu", "batch_size": 16}
