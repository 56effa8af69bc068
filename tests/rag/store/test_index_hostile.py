"""Hostile files in a real ingest batch: each fails with its reason, the parser process limits
stop it, and the rest of the batch, and everything ingested before, stays."""

from __future__ import annotations

import pytest

from rag.settings import IngestSettings
from rag.store.index import DocumentIndex
from tests.ingest.hostile_files import expansion_bomb_json, memory_bomb_json, slow_pdf
from tests.rag.conftest import make_settings

pytestmark = pytest.mark.slow


def _settings(tmp_path, collection: str | None = None, **limits):
    settings = make_settings(tmp_path, "disk")
    ingest = IngestSettings(upload_dir=tmp_path / "uploads", **limits)
    store = settings.store.model_copy(update={"collection": collection or
                                              settings.store.collection})
    return settings.model_copy(update={"ingest": ingest, "store": store})


def _by_name(report):
    return {result.path.rsplit("/", 1)[-1]: result for result in report.files}


def test_hostile_files_fail_with_their_reasons_and_the_batch_goes_on(
        tmp_path, monkeypatch, embeddings):
    monkeypatch.chdir(tmp_path)
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "lighthouse.txt").write_text("The Skerry lighthouse lamp is lit at dusk.\n")
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "a_manual.md").write_text("# Kettle\n\nThe kettle boils 1.7 litres of water.\n")
    (batch / "b_slow.pdf").write_bytes(slow_pdf())
    (batch / "c_expands.json").write_bytes(expansion_bomb_json())
    (batch / "d_catalog.json").write_text('{"items": [{"name": "Otter pump", '
                                          '"flow": "pumps 12 litres per minute"}]}')
    (batch / "e_memory.json").write_bytes(memory_bomb_json())
    (batch / "f_notes.txt").write_text("The ferry to the island leaves at noon.\n")

    # Time: a parser stuck in one call (pdfium on one enormous page) is killed.
    timed = DocumentIndex(_settings(tmp_path, max_seconds_per_file=1.0), embeddings=embeddings)
    try:
        assert timed.ingest_paths([earlier]).ingested == 1
        memory_bomb = batch / "e_memory.json"
        held_back = memory_bomb.read_bytes()
        memory_bomb.unlink()  # this one is for the memory limit below
        results = _by_name(timed.ingest_paths([batch]))
        assert {n: r.status for n, r in results.items()} == {
            "a_manual.md": "ingested", "b_slow.pdf": "failed", "c_expands.json": "failed",
            "d_catalog.json": "ingested", "f_notes.txt": "ingested"}
        assert results["b_slow.pdf"].reason.endswith(
            "b_slow.pdf: parsing took longer than the limit of 1 s; the parser process was "
            "stopped")
        assert "c_expands.json: parsing expands the 0.24 MB file to more than" in (
            results["c_expands.json"].reason)

        # Memory: the same collection, a tighter memory limit.
        memory_bomb.write_bytes(held_back)
        tight = DocumentIndex(_settings(tmp_path, timed.name, max_parse_mb=64),
                              embeddings=embeddings)
        results = _by_name(tight.ingest_paths([memory_bomb, batch / "f_notes.txt",
                                               tmp_path / "missing.txt"]))
        assert results["e_memory.json"].status == "failed"
        assert results["e_memory.json"].reason.endswith(
            "e_memory.json: parsing needed more than 64 MB")
        assert results["f_notes.txt"].status == "unchanged"
        assert results["missing.txt"].status == "failed"

        # Nothing ingested before or beside the hostile files was lost.
        held = {d.source.rsplit("/", 1)[-1] for d in tight.list_documents()}
        assert held == {"lighthouse.txt", "a_manual.md", "d_catalog.json", "f_notes.txt"}
        assert tight.search("When is the lighthouse lamp lit?", k=1)[0].doc.metadata[
            "source"].endswith("lighthouse.txt")
    finally:
        timed.drop()
