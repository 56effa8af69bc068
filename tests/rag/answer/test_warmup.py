"""rag/answer/warmup.py: the first question's one-off loads happen in the background, once."""

from __future__ import annotations

import logging
from pathlib import Path

from rag.answer.warmup import warm_up
from rag.llm import local
from rag.settings import Settings
from rag.store.bm25 import get_bm25_cache
from rag.store.clients import get_client, list_collections
from rag.store.index import DocumentIndex
from tests.rag.conftest import make_settings, unique_collection


def _settings(tmp_path: Path, **update) -> Settings:
    settings = make_settings(tmp_path, "disk")
    return settings.model_copy(
        update={"store": settings.store.model_copy(update={"collection": unique_collection()}),
                **update}
    )


def _indexed(tmp_path: Path, settings: Settings) -> DocumentIndex:
    doc = tmp_path / "notes.md"
    doc.write_text("# Pump\nThe pump restarts after 40 seconds when the float switch trips.\n")
    index = DocumentIndex(settings)
    index.ingest_paths([doc])
    return index


def test_warm_up_builds_the_keyword_index_and_runs_once(tmp_path, embeddings):
    settings = _settings(tmp_path, llm=Settings().llm.model_copy(update={"backend": "openai"}))
    index = _indexed(tmp_path, settings)
    get_bm25_cache().clear()

    cache = get_bm25_cache()
    before = cache.builds + cache.loads

    thread = warm_up(settings)
    assert thread is not None
    thread.join(timeout=120)
    assert not thread.is_alive()
    # The warm-up's retrieval built (or loaded) this collection's BM25 index ...
    assert cache.builds + cache.loads == before + 1
    # ... so the first real question, from another index instance, finds it ready.
    built = cache.index_for(index, settings)
    assert cache.index_for(DocumentIndex(settings), settings) is built
    assert cache.builds + cache.loads == before + 1
    assert len(built) == 1
    # Same configuration again: nothing new starts.
    assert warm_up(settings) is None


def test_warm_up_never_creates_the_collection_it_warms(tmp_path, embeddings):
    # The app starts a warm-up on its first run; a user who deletes the collection meanwhile
    # must not see it come back (empty) when the thread gets to it.
    settings = _settings(tmp_path, llm=Settings().llm.model_copy(update={"backend": "openai"}))
    index = _indexed(tmp_path, settings)
    index.drop()
    thread = warm_up(settings)
    assert thread is not None
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert settings.store.collection not in list_collections(get_client(settings))


def test_warm_up_loads_the_local_model_only_when_it_will_write(tmp_path, embeddings,
                                                               smollm2_folder):
    quoting = _settings(tmp_path).model_copy(update={
        "llm": Settings().llm.model_copy(update={"backend": "local", "model": str(smollm2_folder)}),
    })
    _indexed(tmp_path, quoting)
    key = local.model_key(smollm2_folder, local.resolve_dtype(quoting.llm.dtype))
    local._LOADED.pop(key, None)

    # answer.reply auto: the small local model's replies are quotes, so it is not loaded.
    thread = warm_up(quoting)
    assert thread is not None
    thread.join(timeout=300)
    assert key not in local._LOADED

    # Switched to let the model write: a new warm-up loads it.
    settings = quoting.model_copy(update={
        "answer": quoting.answer.model_copy(update={"reply": "generate"})})
    thread = warm_up(settings)
    assert thread is not None
    thread.join(timeout=300)
    assert key in local._LOADED
    # The chain's loader now returns the warmed model instead of loading again.
    assert local.load_model(str(smollm2_folder)) is local._LOADED[key]


def test_failed_warm_up_logs_without_secrets_and_raises_nothing(tmp_path, embeddings, caplog):
    settings = _settings(tmp_path, llm=Settings().llm.model_copy(update={
        "backend": "local", "model": str(tmp_path / "no-such-model"),
        "api_key": "sk-warmup-secret-123"}))
    # The model is loaded (and fails to) only when it is to write the replies.
    settings = settings.model_copy(update={
        "answer": settings.answer.model_copy(update={"reply": "generate"})})
    _indexed(tmp_path, settings)
    with caplog.at_level(logging.WARNING, logger="rag.answer.warmup"):
        thread = warm_up(settings)
        assert thread is not None
        thread.join(timeout=120)
    assert any("warm-up" in r.getMessage() and "failed" in r.getMessage() for r in caplog.records)
    assert "sk-warmup-secret-123" not in caplog.text
