"""LangChain's standard retriever suite, run against HybridRetriever in every retrieval mode."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import RetrieversIntegrationTests

from rag.retrieval.modes import HybridRetriever
from rag.settings import Settings, StoreSettings
from rag.store.index import DocumentIndex

pytestmark = pytest.mark.slow

# Every text mentions the battery, so BM25 alone also has at least three hits for the query.
TEXTS = {
    "battery.txt": "The battery lasts about ninety minutes of mowing.",
    "charging.txt": "The battery charges fully in two hours on the base station.",
    "winter.txt": "Store the battery indoors over winter at half charge.",
    "replace.txt": "A worn battery can be replaced with part number BT-400.",
}


@pytest.fixture(scope="module")
def standard_index(tmp_path_factory: pytest.TempPathFactory) -> DocumentIndex:
    folder = tmp_path_factory.mktemp("standard")
    settings = Settings(
        store=StoreSettings(mode="memory"), data_dir=folder, cache_dir=folder / "cache"
    )
    index = DocumentIndex(settings, collection=f"standard-{uuid.uuid4().hex[:8]}")
    paths = []
    for name, text in TEXTS.items():
        path = Path(folder) / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    assert index.ingest_paths(paths).failed == 0
    return index


class _HybridRetrieverSuite(RetrieversIntegrationTests):
    # The suite's async test has no marker and pytest-asyncio (a langchain-tests dependency)
    # runs in strict mode here; the suite forbids overriding its tests, so the class is marked
    # and pytest-asyncio's note that the sync tests need no such mark is silenced.
    pytestmark = [  # noqa: RUF012 (pytest reads a list here)
        pytest.mark.asyncio,
        pytest.mark.filterwarnings("ignore:The test <Function test_.*asyncio:pytest.PytestWarning"),
    ]
    mode = "hybrid"

    @pytest.fixture(autouse=True)
    def _bind_index(self, standard_index: DocumentIndex) -> None:
        self.index = standard_index

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"index": self.index, "mode": self.mode, "k": 2, "settings": self.index.settings}

    @property
    def retriever_query_example(self) -> str:
        return "how long does the battery last"


class TestHybridRetrieverHybrid(_HybridRetrieverSuite):
    mode = "hybrid"


class TestHybridRetrieverDense(_HybridRetrieverSuite):
    mode = "dense"


class TestHybridRetrieverMMR(_HybridRetrieverSuite):
    mode = "mmr"


class TestHybridRetrieverBM25(_HybridRetrieverSuite):
    mode = "bm25"
