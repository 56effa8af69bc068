"""Chroma clients by mode, and collections that remember which embedding model built them.

``STORE_MODES`` maps a mode name to a client factory: ``memory`` (in-process, gone on exit;
all in-memory clients of one process share their collections), ``disk`` (a folder) and
``server`` (a ``chroma run`` server over HTTP). Every client has telemetry off.

Collections are never given Chroma's default embedding function (it downloads a model): callers
always pass vectors they computed themselves.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError

from rag.endpoints import is_loopback
from rag.errors import ConfigError, EmbeddingMismatchError, MissingCollectionError, StoreError
from rag.settings import Settings, StoreSettings, get_settings

# Metadata key holding the id of the model whose vectors a collection stores.
EMBEDDING_MODEL_KEY = "embedding_model"
# Each chunk collection has a companion holding one record per document (see rag.store.index).
REGISTRY_SUFFIX = "__docs"

StoreFactory = Callable[[StoreSettings], ClientAPI]
# Chroma's name rule (3-512 characters), checked first so the user reads the rule rather than
# a backend message; capped at 200 so the registry companion's name fits too.
_NAME_RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,198}[A-Za-z0-9]")


class NamedEmbeddings(Protocol):
    @property
    def model_name(self) -> str: ...


def _chroma_settings() -> ChromaSettings:
    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def _memory_client(store: StoreSettings) -> ClientAPI:
    import chromadb

    return chromadb.EphemeralClient(settings=_chroma_settings())


# Opening a folder runs Chroma's SQLite migrations, which are not safe across processes: two
# CLI ingests opening a fresh folder at once failed with "table collections already exists" or
# "database is locked". Our processes take turns to open it.
_OPEN_LOCK = ".rag-open.lock"
_OPEN_LOCK_SECONDS = 120


def _disk_client(store: StoreSettings) -> ClientAPI:
    import chromadb
    from filelock import FileLock, Timeout

    store.path.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(store.path / _OPEN_LOCK), timeout=_OPEN_LOCK_SECONDS):
            return chromadb.PersistentClient(path=str(store.path), settings=_chroma_settings())
    except Timeout:
        raise OSError(
            f"another process has been opening this index for over {_OPEN_LOCK_SECONDS} s"
        ) from None


def _server_client(store: StoreSettings) -> ClientAPI:
    import chromadb

    settings = _chroma_settings()
    if store.ca_file is not None:
        settings.chroma_server_ssl_verify = str(store.ca_file)
    # The token proxy (rag.store.chroma_proxy) checks this header; Chroma itself ignores auth.
    headers = None
    if store.token is not None:
        headers = {"Authorization": f"Bearer {store.token.get_secret_value()}"}
    # HttpClient checks the server with a heartbeat while it is built.
    return chromadb.HttpClient(
        host=store.host, port=store.port, ssl=store.ssl, headers=headers, settings=settings
    )


def user_store_settings(base: StoreSettings, update: dict[str, Any]) -> StoreSettings:
    """``base`` with a user's choice of mode and location applied.

    The configured token belongs to the configured server: pointed at another host or port,
    the client sends none.
    """
    store = base.model_copy(update=update)
    if (store.host.strip().lower(), store.port) != (base.host.strip().lower(), base.port):
        store = store.model_copy(update={"token": None})
    return store


def check_server_settings(store: StoreSettings) -> None:
    """ConfigError for a server setup that would expose the token or cannot verify TLS."""
    if store.token is not None and not store.ssl and not is_loopback(store.host):
        raise ConfigError(
            f"the Chroma token would cross the network to {store.host} in clear text: serve "
            "the proxy with TLS and set store.ssl (RAG_STORE__SSL=true), or reach it on "
            "127.0.0.1"
        )
    if store.ca_file is not None and not store.ca_file.is_file():
        raise ConfigError(f"store.ca_file not found: {store.ca_file}")


STORE_MODES: dict[str, StoreFactory] = {
    "memory": _memory_client,
    "disk": _disk_client,
    "server": _server_client,
}


def store_location(store: StoreSettings) -> str:
    """Where a store lives, in words fit for an error message (never a credential)."""
    if store.mode == "disk":
        return str(store.path.resolve())
    if store.mode == "server":
        return f"{'https://' if store.ssl else ''}{store.host}:{store.port}"
    return "in-memory"


_clients: dict[tuple[str, str, str], ClientAPI] = {}
_clients_lock = threading.Lock()
# Chroma's on-disk client is not process-safe (chroma-core/chroma#3792): a process keeps its own
# view of the vector segments, and after another process writes, its reads fail ("Error finding
# id"). Every write here bumps a marker file in the index folder; a process that sees a marker
# it did not write opens a fresh client before reading.
_MARKER = ".rag-write-generation"
_seen_marker: dict[str, str] = {}


def _marker_path(store: StoreSettings) -> Path:
    return Path(store.path) / _MARKER


def _read_marker(store: StoreSettings) -> str:
    try:
        return _marker_path(store).read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


# Writes by this process, per store location: with the marker, what write_stamp reads.
_generations: dict[str, int] = {}


def mark_written(settings: Settings | None = None) -> None:
    """Record that this process wrote to the store, so other processes re-open theirs."""
    store = (settings or get_settings()).store
    location = store_location(store)
    with _clients_lock:
        _generations[location] = _generations.get(location, 0) + 1
    if store.mode != "disk":
        return
    token = f"{os.getpid()}-{time.time_ns()}"
    path = _marker_path(store)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(token, encoding="utf-8")
    os.replace(tmp, path)  # atomic: a reader sees the old or the new token, never half
    with _clients_lock:
        _seen_marker[location] = token


def write_stamp(settings: Settings | None = None) -> str | None:
    """A token that changes whenever the store may have been written: by this process (memory
    and disk) or by another of ours (disk: the marker). None for a Chroma server, whose other
    clients write without telling us. Read it before the data it vouches for."""
    store = (settings or get_settings()).store
    if store.mode == "server":
        return None
    with _clients_lock:
        generation = _generations.get(store_location(store), 0)
    marker = _read_marker(store) if store.mode == "disk" else ""
    return f"{generation}:{marker}"


def _client_key(store: StoreSettings) -> tuple[str, str, str]:
    """Mode, location and a digest of the credentials: a client built with one token or CA
    file never serves settings naming another."""
    token = store.token.get_secret_value() if store.token is not None else ""
    credentials = f"{token}\0{store.ca_file or ''}"
    return store.mode, store_location(store), hashlib.sha256(credentials.encode()).hexdigest()


def get_client(settings: Settings | None = None) -> ClientAPI:
    """The Chroma client of ``settings.store``; one per (mode, location) in a process."""
    settings = settings or get_settings()
    store = settings.store
    if store.mode not in STORE_MODES:
        raise ConfigError(
            f"unknown store mode {store.mode!r}; choose one of: {', '.join(STORE_MODES)}"
        )
    if store.mode == "server":
        check_server_settings(store)
    key = _client_key(store)
    with _clients_lock:
        if store.mode == "disk" and key in _clients:
            marker = _read_marker(store)
            if marker != _seen_marker.get(key[1], marker):
                _drop_disk_client(store, key)  # another process wrote: our view is stale
            _seen_marker[key[1]] = marker
        if key not in _clients:
            _clients[key] = _build_client(store)
            if store.mode == "disk":
                _seen_marker[key[1]] = _read_marker(store)
        return _clients[key]


def reopen_disk_client(settings: Settings | None = None) -> ClientAPI:
    """A fresh on-disk client even though the marker looked unchanged.

    The marker is read before a read starts, and another process may write in between; the
    read then fails with Chroma's stale-view error, and the caller retries on a fresh view.
    """
    settings = settings or get_settings()
    store = settings.store
    key = _client_key(store)
    with _clients_lock:
        if key in _clients:
            _drop_disk_client(store, key)
    return get_client(settings)


def _drop_disk_client(store: StoreSettings, key: tuple[str, str, str]) -> None:
    """Forget this process's client of an on-disk store (caller holds ``_clients_lock``)."""
    _forget_disk_system(store)
    del _clients[key]


def _forget_disk_system(store: StoreSettings) -> None:
    """Make the next PersistentClient for this folder build a new Chroma system.

    The old system is not stopped: objects still holding it keep working until they
    re-open (DocumentIndex does so on its next call).
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(str(store.path), None)


def _build_client(store: StoreSettings) -> ClientAPI:
    try:
        return STORE_MODES[store.mode](store)
    except Exception as exc:  # chromadb raises ValueError/OSError/its own errors: one message
        reason = _server_reason(exc) or str(exc).strip() or type(exc).__name__
        raise StoreError(
            f"cannot open the {store.mode} store at {store_location(store)}: {reason}"
        ) from exc


def _server_reason(exc: BaseException) -> str | None:
    """What to do about a refused token or certificate (Chroma reports a failed certificate
    check as 'Could not connect', and a refusal as a bare HTTP status)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current)
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return (
                "the server's TLS certificate could not be verified; set store.ca_file "
                "(RAG_STORE__CA_FILE) to the CA or self-signed certificate it uses"
            )
        if "401 Unauthorized" in text:
            return (
                "401 Unauthorized: the server wants a token; set store.token "
                "(RAG_STORE__TOKEN) to the one its proxy was started with"
            )
        current = current.__cause__ or current.__context__
    return None


def collection_metadata(embeddings: NamedEmbeddings) -> dict[str, Any]:
    # Cosine space: with normalised vectors relevance = 1 - distance lies in 0..1.
    return {"hnsw:space": "cosine", EMBEDDING_MODEL_KEY: embeddings.model_name}


def check_collection_name(name: str) -> str:
    """``name`` if Chroma accepts it (and its registry companion), else ConfigError."""
    if not _NAME_RULE.fullmatch(name) or ".." in name:
        raise ConfigError(
            f"invalid collection name {name!r}: use 3 to 200 letters, digits, '.', '_' or "
            "'-', starting and ending with a letter or digit"
        )
    return name


def open_collection(
    client: ClientAPI, name: str, embeddings: NamedEmbeddings, *, create: bool = True
) -> Collection:
    """The collection ``name``, created when missing (else :class:`MissingCollectionError`);
    refuses one built by another model."""
    check_collection_name(name)
    try:
        collection = client.get_collection(name, embedding_function=None)  # type: ignore[arg-type]
    except NotFoundError:
        if not create:
            raise MissingCollectionError(f"there is no collection {name!r}") from None
        collection = create_collection(client, name, embeddings)
    except Exception as exc:
        raise StoreError(f"cannot open collection {name!r}: {exc}") from exc
    built_with = (collection.metadata or {}).get(EMBEDDING_MODEL_KEY, "an unknown model")
    if built_with != embeddings.model_name:
        raise EmbeddingMismatchError(
            f"collection {name} was built with {built_with}; current model is "
            f"{embeddings.model_name}; {_mismatch_advice(built_with, embeddings.model_name)}"
        )
    return collection


def _mismatch_advice(built_with: str, current: str) -> str:
    """What the user can do about a collection built with other embeddings."""
    # Backends other than torch record "<model>+<backend>"
    # (rag.store.embeddings.LocalEmbeddings.model_name).
    built_model, _, built_backend = built_with.partition("+")
    current_model = current.partition("+")[0]
    if built_model == current_model:
        backend = built_backend or "torch"
        switch = f"set embedding.backend to {backend} (RAG_EMBEDDING__BACKEND={backend})"
    else:
        switch = "set embedding.model (RAG_EMBEDDING__MODEL) to the model that built it"
    return (
        f"{switch} to search it, or use another collection (--collection / "
        "RAG_STORE__COLLECTION) and ingest the documents there"
    )


def create_collection(client: ClientAPI, name: str, embeddings: NamedEmbeddings) -> Collection:
    """A new collection for vectors of ``embeddings`` (cosine space, model recorded)."""
    check_collection_name(name)
    try:
        return client.create_collection(
            name,
            metadata=collection_metadata(embeddings),
            embedding_function=None,  # type: ignore[arg-type]
            get_or_create=True,  # another process may have created it a moment ago
        )
    except Exception as exc:
        raise StoreError(f"cannot create collection {name!r}: {exc}") from exc


def list_collections(client: ClientAPI) -> list[str]:
    """Names of the document collections (their companion registries left out), sorted."""
    try:
        names = [c.name for c in client.list_collections()]
    except Exception as exc:
        raise StoreError(f"cannot list collections: {exc}") from exc
    return sorted(n for n in names if not n.endswith(REGISTRY_SUFFIX))


def delete_collection(client: ClientAPI, name: str) -> None:
    """Delete a collection and its document registry; a missing one is not an error."""
    # Registry first: cut short after it, the chunks are left without records and the next
    # ingest redoes them; the other order would leave records of documents with no chunks.
    for target in (name + REGISTRY_SUFFIX, name):
        try:
            client.delete_collection(target)
        except NotFoundError:
            continue
        except Exception as exc:
            raise StoreError(f"cannot delete collection {target!r}: {exc}") from exc
