"""Things built once per process and shared by every session (``st.cache_resource``).

The cache keys name what makes an index different (store mode, location, collection, embedding
model), so switching the store mode in the sidebar builds a new index without a restart, and
switching back reuses the old one.
"""

from __future__ import annotations

import streamlit as st

from rag.answer.chain import ChatService
from rag.answer.history import ChatHistory, history_path
from rag.settings import Settings


def store_location(settings: Settings) -> str:
    """Where the vector store lives, as shown to the user."""
    from rag.store.clients import store_location as location

    return location(settings.store)


def shown_store_location(settings: Settings) -> str | None:
    """The store's folder or host for a page to show, to those who may change it (admins, or
    anyone when sign-in is off); None for a signed-in user who may not: the server's paths and
    addresses are not theirs to learn."""
    from ui.auth import may_change_server_settings

    return store_location(settings) if may_change_server_settings() else None


def _index_key(settings: Settings, collection: str) -> str:
    return "|".join(
        (settings.store.mode, store_location(settings), collection, settings.embedding.model)
    )


@st.cache_resource(show_spinner=False, max_entries=16)
def _cached_index(key: str, _settings: Settings, collection: str):
    from rag.store.index import DocumentIndex  # heavy imports wait until the first page has painted

    return DocumentIndex(_settings, collection=collection)


def get_index(settings: Settings, collection: str | None = None):
    collection = collection or settings.store.collection
    return _cached_index(_index_key(settings, collection), settings, collection)


def drop_cached_index(settings: Settings, collection: str) -> None:
    """Forget a cached index (after its collection was deleted)."""
    _cached_index.clear()  # rare action; a full clear keeps the cache simple and correct


def get_service(settings: Settings, collection: str | None = None) -> ChatService:
    # ChatService is cheap: it holds no model itself (the LLM factory caches the model), so a
    # fresh one per question picks up the session's current backend and presets.
    return ChatService(get_index(settings, collection), settings=settings)


@st.cache_resource(show_spinner=False)
def _cached_history(path: str, owner: str) -> ChatHistory:
    return ChatHistory(path, owner)  # type: ignore[arg-type]


def get_history(settings: Settings, owner: str) -> ChatHistory:
    """``owner``'s chats (the signed-in user name, "" without sign-in)."""
    return _cached_history(str(history_path(settings)), owner)
