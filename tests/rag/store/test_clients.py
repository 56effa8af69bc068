import os
import subprocess
import sys
import time
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings

from rag.errors import ConfigError, EmbeddingMismatchError, MissingCollectionError, StoreError
from rag.store.clients import (
    EMBEDDING_MODEL_KEY,
    REGISTRY_SUFFIX,
    STORE_MODES,
    create_collection,
    delete_collection,
    get_client,
    list_collections,
    open_collection,
    store_location,
)
from rag.store.embeddings import DEFAULT_MODEL_NAME, LocalEmbeddings
from tests.rag.conftest import STORE_MODE_PARAMS, free_port, make_settings, unique_collection

# LocalEmbeddings loads its model lazily; these tests only need its model_name.
MODEL = LocalEmbeddings()


@pytest.fixture(params=STORE_MODE_PARAMS)
def client(request, tmp_path):
    server = request.getfixturevalue("chroma_server") if request.param == "server" else None
    return get_client(make_settings(tmp_path, request.param, server))


def test_registry_names_the_three_modes():
    assert set(STORE_MODES) == {"memory", "disk", "server"}


def test_client_is_cached_per_mode_and_location(tmp_path):
    disk = make_settings(tmp_path, "disk")
    assert get_client(disk) is get_client(make_settings(tmp_path, "disk"))
    assert get_client(make_settings(tmp_path / "other", "disk")) is not get_client(disk)
    assert (tmp_path / "index").is_dir()


def test_unknown_mode_lists_the_valid_ones(tmp_path):
    settings = make_settings(tmp_path, "memory")
    settings.store = settings.store.model_construct(**{**settings.store.__dict__, "mode": "cloud"})
    with pytest.raises(ConfigError, match="memory, disk, server"):
        get_client(settings)


def test_unreachable_server_names_host_and_port(tmp_path):
    port = free_port()  # nothing listens there
    settings = make_settings(tmp_path, "server", ("127.0.0.1", port))
    with pytest.raises(StoreError, match=f"127.0.0.1:{port}") as caught:
        get_client(settings)
    assert "Could not connect" in str(caught.value)
    assert store_location(settings.store) == f"127.0.0.1:{port}"


def test_new_collection_is_cosine_and_records_the_model(client):
    name = unique_collection()
    collection = open_collection(client, name, MODEL)
    assert collection.metadata[EMBEDDING_MODEL_KEY] == DEFAULT_MODEL_NAME
    # Cosine space: an orthogonal unit vector is at distance 1, the same vector at 0.
    collection.add(ids=["a", "b"], embeddings=[[1.0, 0.0], [0.0, 1.0]])
    found = collection.query(query_embeddings=[[1.0, 0.0]], n_results=2)
    assert found["distances"][0] == pytest.approx([0.0, 1.0], abs=1e-6)
    assert open_collection(client, name, MODEL).id == collection.id  # opened, not re-created
    delete_collection(client, name)


def test_a_collection_opened_without_create_is_never_made(client):
    name = unique_collection()
    with pytest.raises(MissingCollectionError, match=name):
        open_collection(client, name, MODEL, create=False)
    assert name not in list_collections(client)
    made = open_collection(client, name, MODEL)
    assert open_collection(client, name, MODEL, create=False).id == made.id
    delete_collection(client, name)


def test_collection_of_another_model_is_refused(client):
    name = unique_collection()
    # Recorded by another tool / an older configuration: raw chromadb, another model id.
    client.create_collection(
        name, metadata={"hnsw:space": "cosine", EMBEDDING_MODEL_KEY: "other/model"},
        embedding_function=None,
    )
    with pytest.raises(EmbeddingMismatchError) as caught:
        open_collection(client, name, MODEL)
    assert str(caught.value) == (
        f"collection {name} was built with other/model; current model is {DEFAULT_MODEL_NAME}; "
        "set embedding.model (RAG_EMBEDDING__MODEL) to the model that built it to search it, "
        "or use another collection (--collection / RAG_STORE__COLLECTION) and ingest the "
        "documents there"
    )
    delete_collection(client, name)


@pytest.mark.parametrize(("built", "opened"), [("torch", "onnx-int8"), ("onnx-int8", "torch")])
def test_collection_of_another_backend_is_refused_with_the_backend_to_set(client, built, opened):
    name = unique_collection()
    create_collection(client, name, LocalEmbeddings(backend=built))
    with pytest.raises(EmbeddingMismatchError) as caught:
        open_collection(client, name, LocalEmbeddings(backend=opened))
    message = str(caught.value)
    assert f"set embedding.backend to {built} (RAG_EMBEDDING__BACKEND={built})" in message
    assert "another collection" in message
    delete_collection(client, name)


def test_list_hides_registries_and_delete_removes_both(client):
    name = unique_collection()
    create_collection(client, name, MODEL)
    client.get_or_create_collection(name + REGISTRY_SUFFIX, embedding_function=None)
    assert name in list_collections(client)
    assert name + REGISTRY_SUFFIX not in list_collections(client)
    delete_collection(client, name)
    remaining = {c.name for c in client.list_collections()}
    assert name not in remaining and name + REGISTRY_SUFFIX not in remaining
    delete_collection(client, name)  # already gone: not an error


def test_invalid_collection_name_is_a_config_error(client):
    with pytest.raises(ConfigError, match="invalid collection name"):
        create_collection(client, "a/", MODEL)


def test_clients_have_telemetry_off(tmp_path):
    client = get_client(make_settings(tmp_path, "disk"))
    assert client.get_settings().anonymized_telemetry is False
    assert isinstance(ChromaSettings(anonymized_telemetry=False), ChromaSettings)
    assert chromadb.__version__.startswith("1.")


# Opens the store given on the command line once the shared start time comes (chromadb
# imported first, so the processes reach Chroma's migrations together) and makes a collection.
_OPEN_AT_ONCE = """
import sys, time, chromadb
from rag.settings import Settings
from rag.store.clients import get_client
settings = Settings(store={"mode": "disk", "path": sys.argv[1]})
while time.time() < float(sys.argv[2]):
    pass
get_client(settings).get_or_create_collection("opened_at_once")
"""


@pytest.mark.slow
def test_processes_opening_a_fresh_disk_store_at_once_all_succeed(tmp_path):
    # CI met this with two CLI ingests: unserialised, Chroma's migrations fail ("table
    # collections already exists", "database is locked"); this failed 4 runs of 4 without the lock.
    env = {**os.environ, "PYTHONPATH": str(Path.cwd()), "HF_HUB_OFFLINE": "1"}
    failures = []
    for round_no in range(4):
        folder = tmp_path / f"index{round_no}"
        start = time.time() + 5
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _OPEN_AT_ONCE, str(folder), str(start)],
                env=env, stderr=subprocess.PIPE, text=True,
            )
            for _ in range(4)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            if proc.returncode:
                failures.append(err.strip().splitlines()[-1])
        reopened = chromadb.PersistentClient(
            path=str(folder), settings=ChromaSettings(anonymized_telemetry=False)
        )
        assert [c.name for c in reopened.list_collections()] == ["opened_at_once"]
    assert not failures
