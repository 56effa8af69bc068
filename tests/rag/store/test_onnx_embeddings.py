"""The onnx-int8 embedding backend: a real export of the packaged model into a tmp cache folder,
checked against the torch backend, plus LangChain's standard Embeddings suites."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import get_args

import onnx
import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from rag.cli.main import build_parser, settings_from_args
from rag.errors import ConfigError, EmbeddingMismatchError
from rag.settings import EmbeddingBackendName, EmbeddingSettings, Settings, get_settings
from rag.store.clients import EMBEDDING_MODEL_KEY
from rag.store.embeddings import (
    DEFAULT_MODEL_NAME,
    EMBEDDING_BACKENDS,
    LocalEmbeddings,
    default_model_path,
    get_embeddings,
)
from rag.store.index import DocumentIndex
from rag.store.onnx_encoder import OnnxEncoder
from rag.store.onnx_export import (
    FP32_FILE,
    INT8_FILE,
    MANIFEST_FILE,
    cached_int8_export,
    export_int8_onnx,
    export_key,
    is_complete_export,
)
from tests.rag.conftest import make_settings

REPO = Path(__file__).resolve().parents[3]

# The suites' async tests carry no marker and pytest-asyncio runs in strict mode here (see
# test_embeddings_standard.py for the same marks).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.asyncio,
    pytest.mark.filterwarnings("ignore:The test <Function test_.*asyncio:pytest.PytestWarning"),
]

LONG_TEXT = (
    "The lighthouse keeper climbs one hundred and twelve steps every evening to light the lamp, "
    "trims the wick, winds the clockwork that turns the lens and writes the weather in the log. "
) * 12  # well over the model's 256-token window: both backends must truncate alike
VARIED_TEXTS = [
    "",
    " ",
    "?",
    "cat",
    "Descale the Zephyr-9 coffee machine every 42 days.",
    "How often must the coffee machine be descaled?",
    "Grüße aus Köln — naïve café; 東京の天気は晴れです。",
    "def count_tokens(self, text: str) -> int:\n    return len(tokenizer.encode(text))",
    "SELECT id, name FROM users WHERE created_at > '2024-01-01' ORDER BY name;",
    "1.21 gigawatts at 10:04 pm, 5 November 1955",
    LONG_TEXT,
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def onnx_embeddings(onnx_cache) -> LocalEmbeddings:
    """The int8 backend over a fresh cache folder: the first query exports the model."""
    model = LocalEmbeddings(backend="onnx-int8", cache_dir=onnx_cache, batch_size=16)
    model.embed_query("warm-up")
    return model


def export_folder(cache: Path) -> Path:
    return cache / "onnx" / export_key(default_model_path())


def cosine(a: list[float], b: list[float]) -> float:
    dot = math.fsum(x * y for x, y in zip(a, b, strict=True))
    return dot / math.sqrt(math.fsum(x * x for x in a) * math.fsum(y * y for y in b))


# -- the backend registry and settings ------------------------------------------------------
def test_settings_backends_are_the_registry_keys():
    assert set(get_args(EmbeddingBackendName)) == set(EMBEDDING_BACKENDS) == {"torch", "onnx-int8"}


def test_default_backend_is_onnx_int8(monkeypatch):
    # tests/conftest.py pins the suite to torch through the environment; the app's own default:
    monkeypatch.delenv("RAG_EMBEDDING__BACKEND", raising=False)
    assert EmbeddingSettings().backend == "onnx-int8"
    assert Settings().embedding.backend == "onnx-int8"
    assert get_embeddings(Settings()).backend == "onnx-int8"


def test_unknown_backend_is_a_config_error_naming_the_valid_ones(monkeypatch):
    with pytest.raises(ConfigError, match="unknown embedding backend 'tensorrt'; choose one of: "
                                          "torch, onnx-int8"):
        LocalEmbeddings(backend="tensorrt")
    # From the environment, as a user sets it: the CLI's boundary turns it into a ConfigError.
    monkeypatch.setenv("RAG_EMBEDDING__BACKEND", "tensorrt")
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError) as caught:
            settings_from_args(build_parser().parse_args(["list"]))
    finally:
        get_settings.cache_clear()
    message = str(caught.value)
    assert "embedding.backend" in message
    assert "'torch' or 'onnx-int8'" in message


def test_onnx_backend_refuses_other_devices():
    with pytest.raises(ConfigError, match=r"CPU only.*RAG_EMBEDDING__BACKEND=torch"):
        LocalEmbeddings(backend="onnx-int8", device="cuda")


def test_model_name_records_the_backend():
    assert LocalEmbeddings(backend="torch").model_name == DEFAULT_MODEL_NAME
    assert LocalEmbeddings(backend="onnx-int8").model_name == f"{DEFAULT_MODEL_NAME}+onnx-int8"
    assert LocalEmbeddings(model="/m/x", backend="onnx-int8").model_name == "/m/x+onnx-int8"


def test_no_export_before_first_use(tmp_path):
    model = LocalEmbeddings(backend="onnx-int8", cache_dir=tmp_path / "cache")
    assert model.model_name.endswith("+onnx-int8")
    assert not (tmp_path / "cache").exists()


def test_a_hub_name_is_refused_rather_than_downloaded(tmp_path):
    model = LocalEmbeddings(model="someone/some-model", backend="onnx-int8", cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="local model folder"):
        model.embed_query("anything")
    assert not (tmp_path / "onnx").exists()


# -- export and cache -----------------------------------------------------------------------
def test_export_is_complete_and_int8_only(onnx_embeddings, onnx_cache):
    folder = export_folder(onnx_cache)
    assert is_complete_export(folder)
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert INT8_FILE in manifest["files"]
    assert not (folder / FP32_FILE).exists()  # the app needs the int8 model only
    # Fused int8 attention and int8 MatMuls; the word-embedding table (47 MB) and each layer's
    # first feed-forward MatMul stay fp32 for accuracy.
    ops = Counter(node.op_type for node in onnx.load(str(folder / INT8_FILE)).graph.node)
    assert ops["QAttention"] == 6
    assert ops["MatMulInteger"] == 12
    assert ops["MatMul"] == 6
    fp32_weights = (default_model_path() / "model.safetensors").stat().st_size
    assert (folder / INT8_FILE).stat().st_size < 0.8 * fp32_weights
    leftovers = [p.name for p in folder.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_export_is_reused_by_this_and_another_process(onnx_embeddings, onnx_cache):
    folder = export_folder(onnx_cache)
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    started = time.perf_counter()
    assert cached_int8_export(default_model_path(), onnx_cache) == folder / INT8_FILE
    assert time.perf_counter() - started < 10  # a re-export takes far longer
    script = (
        "import sys; from rag.store.embeddings import default_model_path; "
        "from rag.store.onnx_export import cached_int8_export; "
        "print(cached_int8_export(default_model_path(), sys.argv[1]))"
    )
    other = subprocess.run(
        [sys.executable, "-c", script, str(onnx_cache)], cwd=REPO, capture_output=True,
        text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == str(folder / INT8_FILE)
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before


def test_quantising_leaves_the_process_logging_alone(tmp_path):
    # onnxruntime's quantiser warns through logging.warning(): in a process that set up no
    # logging (the CLI, the app) that used to install a stderr handler on the root logger, so
    # a first run printed its advice and every library's log lines after it. A subprocess:
    # pytest's own capture handlers would hide it here.
    script = """
import logging, sys
from pathlib import Path
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from rag.store.onnx_export import quantise_int8
weight = numpy_helper.from_array(np.ones((8, 8), np.float32), "w")
node = helper.make_node("MatMul", ["x", "w"], ["y"], name="/attention/output/dense/MatMul")
graph = helper.make_graph(
    [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])], [weight])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), sys.argv[1])
quantise_int8(Path(sys.argv[1]), Path(sys.argv[2]))
print(len(logging.getLogger().handlers))
"""
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "f.onnx"), str(tmp_path / "q.onnx")],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "q.onnx").is_file()
    assert done.stdout.strip() == "0"  # no handler left on the root logger
    assert "WARNING:root" not in done.stderr


def test_key_changes_with_the_source_folder(tmp_path):
    source = tmp_path / "model"
    source.mkdir()
    (source / "config.json").write_text("{}", encoding="utf-8")
    first = export_key(source)
    (source / "config.json").write_text('{"changed": 1}', encoding="utf-8")
    assert export_key(source) != first
    assert export_key(default_model_path()) != first


def test_half_written_exports_are_never_used(onnx_embeddings, onnx_cache, tmp_path):
    good = export_folder(onnx_cache)
    # Killed before the manifest (the last file) was written.
    no_manifest = tmp_path / "no-manifest"
    shutil.copytree(good, no_manifest)
    (no_manifest / MANIFEST_FILE).unlink()
    assert not is_complete_export(no_manifest)
    # A model file cut short, or changed in place.
    truncated = tmp_path / "truncated"
    shutil.copytree(good, truncated)
    with (truncated / INT8_FILE).open("r+b") as model:
        model.truncate(1000)
    assert not is_complete_export(truncated)
    flipped = tmp_path / "flipped"
    shutil.copytree(good, flipped)
    data = bytearray((flipped / INT8_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (flipped / INT8_FILE).write_bytes(bytes(data))
    assert not is_complete_export(flipped)
    # A manifest from another exporter version.
    old = tmp_path / "old-version"
    shutil.copytree(good, old)
    manifest = json.loads((old / MANIFEST_FILE).read_text(encoding="utf-8"))
    (old / MANIFEST_FILE).write_text(json.dumps({**manifest, "exporter_version": 0}))
    assert not is_complete_export(old)
    assert not is_complete_export(tmp_path / "missing")


def test_a_damaged_cache_is_exported_again(onnx_embeddings, onnx_cache, tmp_path):
    cache = tmp_path / "cache"
    folder = export_folder(cache)
    shutil.copytree(export_folder(onnx_cache), folder)
    with (folder / INT8_FILE).open("r+b") as model:
        model.truncate(1000)
    # A temp folder left by an export that was killed (its pid cannot be running).
    dead = folder.with_name(f".{folder.name}.999999999.deadbeef.partial")
    dead.mkdir()
    (dead / FP32_FILE).write_bytes(b"half a model")
    model = LocalEmbeddings(backend="onnx-int8", cache_dir=cache)
    vector = model.embed_query("Descale the coffee machine every 42 days.")
    assert is_complete_export(folder)
    assert (folder / INT8_FILE).stat().st_size > 1000
    assert not dead.exists()
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]
    assert cosine(vector, onnx_embeddings.embed_query(
        "Descale the coffee machine every 42 days.")) > 0.9999


def test_a_folder_that_is_not_a_model_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"config\.json"):
        export_int8_onnx(tmp_path / "empty", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# -- vectors and tokens ---------------------------------------------------------------------
def test_vectors_agree_with_the_torch_backend(onnx_embeddings, embeddings):
    # Both read the whole window (no max_tokens cut), so a long text is compared whole.
    assert onnx_embeddings.max_tokens == 0
    int8 = onnx_embeddings.embed_documents(VARIED_TEXTS)
    fp32 = LocalEmbeddings(backend="torch").embed_documents(VARIED_TEXTS)
    agreement = {text[:30]: cosine(a, b) for text, a, b in zip(VARIED_TEXTS, int8, fp32,
                                                                strict=True)}
    assert min(agreement.values()) >= 0.98, agreement
    for vector in int8:
        assert len(vector) == 384
        assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-4)


def test_retrieval_order_matches_torch_on_a_small_example(onnx_embeddings):
    query = onnx_embeddings.embed_query("How often must the coffee machine be descaled?")
    related, unrelated = onnx_embeddings.embed_documents(
        ["Descale the coffee machine every 42 days.", "The lighthouse lamp is lit at dusk."]
    )
    assert cosine(query, related) > cosine(query, unrelated) + 0.2


def test_input_order_is_kept(onnx_embeddings):
    together = onnx_embeddings.embed_documents(VARIED_TEXTS)
    reversed_together = onnx_embeddings.embed_documents(VARIED_TEXTS[::-1])
    alone = [onnx_embeddings.embed_query(t) for t in VARIED_TEXTS]
    for joint, backwards, single in zip(together, reversed_together[::-1], alone, strict=True):
        # Same texts, same length-sorted batches: the same vectors, whatever the input order.
        assert max(abs(a - b) for a, b in zip(joint, backwards, strict=True)) < 1e-5
        # Alone, a text is quantised with other activation scales (dynamic int8): close, not
        # equal (0.975 for the empty string, > 0.99 for texts with words).
        assert cosine(joint, single) > 0.97


def test_encoder_speaks_sentence_transformers_encode(onnx_embeddings):
    encoder = onnx_embeddings.encoder
    assert isinstance(encoder, OnnxEncoder)
    assert encoder.get_embedding_dimension() == onnx_embeddings.dimension == 384
    one = encoder.encode("cat", normalize_embeddings=True)
    assert one.shape == (384,)
    many = encoder.encode(["cat", "dog"], batch_size=1, show_progress_bar=False)
    assert many.shape == (2, 384)
    assert encoder.encode([], batch_size=8).shape == (0, 384)
    # One text, one array of wordpiece vectors: [CLS] cat [SEP].
    assert encoder.encode("cat", output_value="token_embeddings").shape == (3, 384)
    with pytest.raises(ValueError, match="numpy"):
        encoder.encode(["cat"], convert_to_numpy=False)


def test_token_vectors_agree_with_the_torch_backend_wordpiece_by_wordpiece(onnx_embeddings,
                                                                          embeddings):
    texts = [*VARIED_TEXTS, LONG_TEXT]  # both read the whole window, as above
    int8 = onnx_embeddings.token_vectors(texts)
    fp32 = LocalEmbeddings(backend="torch").token_vectors(texts)
    for text, a, b in zip(texts, int8, fp32, strict=True):
        # One row per wordpiece, [CLS] and [SEP] left out, padding too: the token counts.
        assert len(a) == len(b) == min(embeddings.count_tokens(text), 254), text[:30]
        if len(a):
            assert abs(float((a * a).sum(axis=1).max()) - 1.0) < 1e-4  # unit rows
            assert float((a * b).sum(axis=1).min()) > 0.9, text[:30]
    with pytest.raises(ValueError, match="no output"):
        onnx_embeddings.encoder.encode(["cat"], output_value="cls")
    # With max_tokens, only the first wordpieces are read, as for the pooled vectors.
    (cut,) = embeddings.token_vectors([LONG_TEXT])
    assert embeddings.max_tokens == len(cut) == 128


def test_count_tokens_is_the_torch_backends(onnx_embeddings, embeddings):
    for text in [*VARIED_TEXTS, "word " * 600]:
        assert onnx_embeddings.count_tokens(text) == embeddings.count_tokens(text)
    assert onnx_embeddings.count_tokens("word " * 600) == 600  # counted in full, not cut


def test_get_embeddings_picks_the_backend(onnx_embeddings, onnx_cache):
    settings = Settings(embedding=EmbeddingSettings(backend="onnx-int8", batch_size=16),
                        cache_dir=onnx_cache)
    chosen = get_embeddings(settings)
    assert chosen.backend == "onnx-int8"
    assert chosen.encoder is onnx_embeddings.encoder  # one loaded copy per cache folder
    assert get_embeddings(Settings(embedding=EmbeddingSettings(backend="torch"))).backend == "torch"


# -- through the index ----------------------------------------------------------------------
def test_ingest_and_search_round_trip(onnx_embeddings, onnx_cache, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "zephyr.md").write_text(
        "# Zephyr-9\n\n## Maintenance\n\nDescale the Zephyr-9 coffee machine every 42 days.\n",
        encoding="utf-8",
    )
    (docs / "lighthouse.md").write_text(
        "# Lighthouse\n\nThe keeper lights the lamp at dusk and winds the clockwork lens.\n",
        encoding="utf-8",
    )
    base = make_settings(tmp_path, "memory")
    settings = base.model_copy(update={
        "embedding": EmbeddingSettings(backend="onnx-int8", batch_size=16),
        "cache_dir": onnx_cache,
    })
    index = DocumentIndex(settings)
    assert index.embeddings.backend == "onnx-int8"
    report = index.ingest_paths(sorted(docs.iterdir()))
    assert [f.status for f in report.files] == ["ingested", "ingested"]
    hits = index.search("How often should the coffee machine be descaled?", k=2)
    assert hits[0].doc.metadata["source"].endswith("zephyr.md")
    assert hits[0].score > hits[1].score
    assert index.collection.metadata[EMBEDDING_MODEL_KEY] == f"{DEFAULT_MODEL_NAME}+onnx-int8"
    # The same collection opened with the torch backend is refused, not silently mixed.
    with pytest.raises(EmbeddingMismatchError, match="RAG_EMBEDDING__BACKEND=onnx-int8"):
        DocumentIndex(base)


# -- LangChain's standard suites ------------------------------------------------------------
class OnnxSuiteSetup:
    """Both suites build LocalEmbeddings(**embedding_model_params) per test: point them at the
    module's export so the model is exported once."""

    @pytest.fixture(autouse=True)
    def _use_module_export(self, onnx_embeddings, onnx_cache) -> None:
        self.cache_dir = onnx_cache

    @property
    def embeddings_class(self) -> type[LocalEmbeddings]:
        return LocalEmbeddings

    @property
    def embedding_model_params(self) -> dict:
        return {"backend": "onnx-int8", "cache_dir": str(self.cache_dir), "batch_size": 16}


class TestOnnxEmbeddingsUnit(OnnxSuiteSetup, EmbeddingsUnitTests):
    pass


class TestOnnxEmbeddingsIntegration(OnnxSuiteSetup, EmbeddingsIntegrationTests):
    pass
