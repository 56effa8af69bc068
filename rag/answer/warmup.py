"""Load what the first question needs while the user is still reading the page.

A fresh process pays one-off costs on its first question: importing torch and transformers,
loading the embedding model, opening the vector index, building the BM25 index and, when it
will write the reply, loading the local LLM (seconds each on a laptop CPU). ``warm_up`` starts
them in a background thread as soon as the app has painted, so the first answer does not wait
for them. The loaders are the same cached, locked factories the chain uses: a question asked
mid-warm-up waits for the one load in flight instead of starting a second one, and a warm-up
that fails costs nothing (the question retries the load and reports the error where the user
sees it).
"""

from __future__ import annotations

import logging
import threading

from rag.settings import Settings

log = logging.getLogger(__name__)

_started: set[tuple[str, ...]] = set()
_started_lock = threading.Lock()


def _key(settings: Settings, collection: str) -> tuple[str, ...]:
    from rag.store.clients import store_location

    return (
        settings.embedding.model, settings.embedding.device, settings.store.mode,
        store_location(settings.store), collection, settings.llm.backend, settings.llm.model,
        str(settings.cache_dir), _reply_mode(settings),
    )


def _reply_mode(settings: Settings) -> str:
    from rag.answer.chain import reply_mode

    return reply_mode(settings)


def warm_up(settings: Settings, collection: str | None = None) -> threading.Thread | None:
    """Start loading models and indexes for ``settings`` in a daemon thread, once per
    configuration per process. Returns the thread, or None when this one was already warmed."""
    collection = collection or settings.store.collection
    key = _key(settings, collection)
    with _started_lock:
        if key in _started:
            return None
        _started.add(key)
    thread = threading.Thread(
        target=_load, args=(settings, collection), name="rag-warm-up", daemon=True
    )
    thread.start()
    return thread


def _load(settings: Settings, collection: str) -> None:
    try:
        from rag.errors import MissingCollectionError
        from rag.retrieval.modes import retrieve
        from rag.store.embeddings import get_embeddings
        from rag.store.index import DocumentIndex

        get_embeddings(settings).embed_query("warm-up")
        # One retrieval opens the collection (HNSW in memory) and builds or loads BM25; both
        # caches are per process, shared with the index instances the app builds. Only an
        # existing collection: one deleted while this thread ran must stay deleted.
        try:
            index = DocumentIndex(settings, collection=collection, create=False)
        except MissingCollectionError:
            log.info("warm-up: no collection %s yet, nothing to open", collection)
        else:
            retrieve(index, "warm-up", settings=settings)
        if settings.answer.refuse:
            from rag.answer.refusal import DEFAULT_MODEL_PATH, load_refusal_model, specificity

            load_refusal_model(settings.answer.refusal_model or DEFAULT_MODEL_PATH)
            specificity("warm")  # loads the English word list (a second)
        # Only when the model will write: quoting (answer.reply) never asks it, and loading
        # it (converting the GGUF on a first start) would take the CPU and memory for nothing.
        if settings.llm.backend == "local" and _reply_mode(settings) == "generate":
            from rag.llm.local import load_model

            load_model(settings.llm.model, settings.cache_dir, settings.llm.dtype)
    except Exception as exc:  # the real request retries the load and reports it
        log.warning("warm-up of %s failed: %s", collection, type(exc).__name__)
