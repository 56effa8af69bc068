"""LangChain's standard VectorStore suite against the index's LangChain store.

The store under test is exactly what other layers get from ``DocumentIndex.langchain_store``:
our client per mode, our cosine collection, our real embeddings.
"""

from __future__ import annotations

import pytest
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests import VectorStoreIntegrationTests

from rag.store.index import DocumentIndex
from tests.rag.conftest import make_settings

# The suites' async tests carry no marker and pytest-asyncio runs in strict mode here; the
# suites forbid overriding their tests, so the module is marked and pytest-asyncio's note that
# sync tests need no such mark is silenced.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.asyncio,
    pytest.mark.filterwarnings("ignore:The test <Function test_.*asyncio:pytest.PytestWarning"),
]


class TestIndexLangchainStore(VectorStoreIntegrationTests):
    @pytest.fixture(params=["memory", "disk"])
    def vectorstore(self, request, tmp_path, embeddings) -> VectorStore:  # type: ignore[override]
        index = DocumentIndex(make_settings(tmp_path, request.param), embeddings=embeddings)
        try:
            yield index.langchain_store
        finally:
            index.drop()
