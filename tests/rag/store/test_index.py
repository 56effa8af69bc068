"""Index contract suite: the same behaviour in every store mode (memory, disk, server)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from langchain_core.documents import Document

from rag.errors import EmbeddingMismatchError, RagError
from rag.store.clients import EMBEDDING_MODEL_KEY, get_client
from rag.store.index import DocumentIndex
from rag.store.results import IngestProgress
from rag.store.sources import chunk_ids, document_id, source_key, walk_paths

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data"

MANUAL = """# Zephyr-9 coffee machine

## Maintenance

The Zephyr-9 coffee machine must be descaled every 42 days using the blue tablet.

## Water tank

The water tank of the Zephyr-9 holds 1.7 litres of fresh water.

## Grinder

The conical grinder has fourteen settings; setting 5 suits espresso beans.
"""

CATALOG = (
    '{"items": [{"name": "Marten mower", "blade": "hardened steel blade, 46 cm cut"}, '
    '{"name": "Otter pump", "flow": "pumps 12 litres per minute"}]}'
)


@pytest.fixture
def corpus(tmp_path, monkeypatch) -> Path:
    """A small mixed corpus; the working folder is tmp_path so sources are relative."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "manual.md").write_text(MANUAL, encoding="utf-8")
    (folder / "catalog.json").write_text(CATALOG, encoding="utf-8")
    (folder / "notes.txt").write_text(
        "The Skerry lighthouse lamp is lit at dusk by the keeper.\n", encoding="utf-8"
    )
    shutil.copy(DATA / "sample.pdf", folder / "sample.pdf")
    shutil.copy(DATA / "truncated.pdf", folder / "broken.pdf")
    (folder / "ignored.bin").write_bytes(b"\x00\x01")  # binary data: listed as skipped
    return folder


@pytest.fixture
def index(store_settings, counting_embeddings) -> DocumentIndex:
    index = DocumentIndex(store_settings, embeddings=counting_embeddings)
    yield index
    index.drop()


def ids_of(index: DocumentIndex, source: str) -> set[str]:
    return {c.metadata["chunk_id"] for c in index.get_chunks(document_id(source))}


def top(index: DocumentIndex, query: str) -> Document:
    return index.search(query, k=1)[0].doc


def test_ingest_then_search_finds_the_exact_locator(index, corpus):
    report = index.ingest_paths([corpus])

    statuses = {r.path: r.status for r in report.files}
    assert statuses == {
        "corpus/broken.pdf": "failed",
        "corpus/catalog.json": "ingested",
        "corpus/ignored.bin": "skipped",
        "corpus/manual.md": "ingested",
        "corpus/notes.txt": "ingested",
        "corpus/sample.pdf": "ingested",
    }
    assert (report.ingested, report.unchanged, report.failed, report.skipped) == (4, 0, 1, 1)
    assert report.chunks_embedded == index.count() > 0

    pdf = top(index, "How much power does the flux capacitor need?")
    assert (pdf.metadata["source"], pdf.metadata["locator"]) == ("corpus/sample.pdf", "page 2")
    assert pdf.metadata["page"] == 2
    pump = top(index, "How many litres per minute does the pump move?")
    assert pump.metadata["source"] == "corpus/catalog.json"
    assert pump.metadata["locator"] == "/items/1"
    tank = top(index, "What is the capacity of the water tank?")
    assert tank.metadata["locator"].endswith("Water tank")
    hit = index.search("lighthouse lamp at dusk", k=3)[0]
    assert hit.rank == 1 and 0.5 < hit.score <= 1.0
    assert hit.chunk_id == hit.doc.metadata["chunk_id"] == hit.doc.id


def test_a_bad_file_fails_with_its_reason_and_the_batch_goes_on(index, corpus):
    report = index.ingest_paths([corpus / "broken.pdf", corpus / "notes.txt", corpus / "nope.md"])
    failed = {r.path: r.reason for r in report.failures}
    assert set(failed) == {"corpus/broken.pdf", "corpus/nope.md"}
    assert failed["corpus/broken.pdf"].startswith("corpus/broken.pdf: ")
    assert "PDF" in failed["corpus/broken.pdf"]
    # A page names the file in its own column: it shows the reason without the server path.
    shown = report.files[0].reason_without_path
    assert "PDF" in shown and "corpus/" not in shown
    assert report.files[1].status == "ingested"
    assert "failed: corpus/broken.pdf" in report.summary()
    assert [d.source for d in index.list_documents()] == ["corpus/notes.txt"]


def test_unchanged_reingest_embeds_nothing(index, corpus):
    first = index.ingest_paths([corpus])
    ids_before = {c.metadata["chunk_id"] for c in index.iter_chunks()}
    version = index.version()
    index.embeddings.texts_embedded = 0

    again = index.ingest_paths([corpus])

    assert again.chunks_embedded == 0
    assert index.embeddings.texts_embedded == 0  # counted on the real model's entry point
    assert again.unchanged == first.ingested and again.ingested == 0
    assert {c.metadata["chunk_id"] for c in index.iter_chunks()} == ids_before
    assert index.version() == version


def test_changed_file_replaces_exactly_its_chunks(index, corpus):
    manual = corpus / "manual.md"
    index.ingest_paths([corpus / "notes.txt", manual])
    before = {c.page_content: c.metadata["chunk_id"] for c in index.get_chunks(document_id(
        "corpus/manual.md"))}
    notes_ids = ids_of(index, "corpus/notes.txt")
    version = index.version()
    index.embeddings.texts_embedded = 0

    manual.write_text(MANUAL.replace("every 42 days", "every 30 days"), encoding="utf-8")
    report = index.ingest_paths([corpus / "notes.txt", manual])

    assert [r.status for r in report.files] == ["unchanged", "ingested"]
    assert report.chunks_embedded == 1 == index.embeddings.texts_embedded
    after = {c.page_content: c.metadata["chunk_id"] for c in index.get_chunks(document_id(
        "corpus/manual.md"))}
    assert not any("42 days" in text for text in after)
    assert any("30 days" in text for text in after)
    kept = {text: cid for text, cid in before.items() if "42 days" not in text}
    assert kept and all(after[text] == cid for text, cid in kept.items())  # same ids kept
    assert len(after) == len(before)
    assert ids_of(index, "corpus/notes.txt") == notes_ids
    assert "42 days" not in top(index, "How often must the Zephyr-9 be descaled?").page_content
    assert index.version() != version


def test_moved_chunks_get_fresh_metadata_without_embedding(index, corpus):
    manual = corpus / "manual.md"
    index.ingest_paths([manual])

    def position_of(word: str) -> tuple[str, int]:
        chunks = index.get_chunks(document_id("corpus/manual.md"))
        found = next(c for c in chunks if word in c.page_content)
        return found.metadata["chunk_id"], found.metadata["chunk_index"]

    grinder_id, grinder_index = position_of("grinder")
    index.embeddings.texts_embedded = 0
    # A new first section shifts every other chunk's chunk_index by one.
    manual.write_text(MANUAL.replace("## Maintenance", "## Safety\n\nUnplug first.\n\n"
                                     "## Maintenance"), encoding="utf-8")
    report = index.ingest_paths([manual])
    assert report.chunks_embedded == 1 == index.embeddings.texts_embedded
    assert position_of("grinder") == (grinder_id, grinder_index + 1)
    chunks = index.get_chunks(document_id("corpus/manual.md"))
    assert [c.metadata["chunk_index"] for c in chunks] == list(range(len(chunks)))


def test_copy_under_another_name_reuses_stored_vectors(index, corpus):
    index.ingest_paths([corpus / "sample.pdf"])
    shutil.copy(corpus / "sample.pdf", corpus / "copy.pdf")
    index.embeddings.texts_embedded = 0

    report = index.ingest_paths([corpus / "copy.pdf"])

    result = report.files[0]
    assert result.status == "ingested" and result.chunks > 0
    assert (result.embedded, result.reused) == (0, result.chunks)
    assert index.embeddings.texts_embedded == 0
    assert len(ids_of(index, "corpus/copy.pdf")) == result.chunks


def test_force_reembeds_an_unchanged_file(index, corpus):
    first = index.ingest_paths([corpus / "manual.md"])
    index.embeddings.texts_embedded = 0
    report = index.ingest_paths([corpus / "manual.md"], force=True)
    assert report.files[0].status == "ingested"
    assert report.chunks_embedded == first.chunks_embedded == index.embeddings.texts_embedded
    assert index.count() == first.files[0].chunks


def test_crash_before_the_registry_record_finishes_on_rerun(index, corpus):
    index.ingest_paths([corpus / "manual.md"])
    count = index.count()
    # The state a crash between the chunk writes and the commit marker leaves behind.
    index.registry.delete(ids=[document_id("corpus/manual.md")])
    assert index.list_documents() == []
    index.embeddings.texts_embedded = 0

    report = index.ingest_paths([corpus / "manual.md"])

    assert report.files[0].status == "ingested"
    assert index.embeddings.texts_embedded == 0  # its chunks were already stored
    assert index.count() == count  # and are not duplicated
    assert [d.source for d in index.list_documents()] == ["corpus/manual.md"]


def test_failed_new_version_leaves_the_stored_one_untouched(index, corpus):
    target = corpus / "sample.pdf"
    index.ingest_paths([target])
    ids = ids_of(index, "corpus/sample.pdf")
    target.write_bytes((DATA / "truncated.pdf").read_bytes())

    report = index.ingest_paths([target])

    assert report.files[0].status == "failed"
    assert ids_of(index, "corpus/sample.pdf") == ids
    assert [d.source for d in index.list_documents()] == ["corpus/sample.pdf"]


def test_delete_removes_chunks_and_registry_record(index, corpus):
    index.ingest_paths([corpus / "manual.md", corpus / "notes.txt"])
    notes = len(ids_of(index, "corpus/notes.txt"))
    version = index.version()

    removed = index.delete("corpus/manual.md")

    assert removed > 0
    assert ids_of(index, "corpus/manual.md") == set()
    assert [d.source for d in index.list_documents()] == ["corpus/notes.txt"]
    assert index.count() == notes
    assert index.version() != version
    assert index.delete(document_id("corpus/notes.txt")) == notes  # by doc_id too
    with pytest.raises(RagError, match="no document"):
        index.delete("corpus/manual.md")


def test_documents_listing_and_chunk_iteration(index, corpus):
    index.ingest_paths([corpus])
    documents = index.list_documents()
    assert [d.source for d in documents] == [
        "corpus/catalog.json", "corpus/manual.md", "corpus/notes.txt", "corpus/sample.pdf"
    ]
    pdf = documents[-1]
    assert (pdf.format, pdf.title, pdf.size_bytes) == (
        "pdf", "Time Machine Manual", (corpus / "sample.pdf").stat().st_size
    )
    assert pdf.doc_id == document_id("corpus/sample.pdf") and pdf.ingested_at > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        pdf.chunks = 0  # type: ignore[misc]
    chunks = list(index.iter_chunks(batch=3))  # several pages of results
    assert len(chunks) == index.count() == sum(d.chunks for d in documents)
    assert len({c.metadata["chunk_id"] for c in chunks}) == len(chunks)
    pages = [c.metadata["page"] for c in index.get_chunks(pdf.doc_id)]
    assert pages == sorted(pages) and 3 not in pages  # page 3 is blank


@pytest.fixture
def mixed(tmp_path, monkeypatch) -> Path:
    """Known and unknown extensions, an extensionless file, binary junk, hidden entries, a
    compressed document, a compressed archive, SGML and a compressed manual page."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "mixed"
    (folder / "help").mkdir(parents=True)
    (folder / ".git").mkdir()
    shutil.copy(DATA / "notes.txt", folder / "notes.txt")
    shutil.copy(DATA / "net-wireless-hidden.page", folder / "help" / "net-wireless-hidden.page")
    shutil.copy(DATA / "fonts.conf", folder / "fonts.conf")
    shutil.copy(DATA / "changelog", folder / "changelog")
    shutil.copy(DATA / "bare_ampersand.xml", folder / "shop.xml")
    shutil.copy(DATA / "truncated.pdf", folder / "broken.pdf")
    shutil.copy(DATA / "NEWS.Debian.gz", folder / "NEWS.Debian.gz")
    shutil.copy(DATA / "manpage.example.sgml", folder / "manpage.example.sgml")
    shutil.copy(DATA / "chown.1.gz", folder / "chown.1.gz")
    with tarfile.open(folder / "bundle.tar.gz", "w:gz") as tar:
        tar.add(DATA / "notes.txt", "notes.txt")
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (folder / ".env").write_text("API_TOKEN=hunter2-secret\n")
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (folder / ".git" / "config").write_text("[core]\n")
    return folder


def test_every_file_of_a_mixed_folder_is_ingested_or_listed_with_its_reason(index, mixed):
    report = index.ingest_paths([mixed])

    results = {r.path: r for r in report.files}
    assert {path: r.status for path, r in results.items()} == {
        "mixed/.env": "skipped",
        "mixed/.git": "skipped",
        "mixed/NEWS.Debian.gz": "ingested",
        "mixed/broken.pdf": "failed",
        "mixed/bundle.tar.gz": "skipped",
        "mixed/changelog": "ingested",
        "mixed/chown.1.gz": "ingested",
        "mixed/fonts.conf": "ingested",
        "mixed/help/net-wireless-hidden.page": "ingested",
        "mixed/manpage.example.sgml": "ingested",
        "mixed/notes.txt": "ingested",
        "mixed/photo.png": "failed",
        "mixed/shop.xml": "ingested",
    }
    # PNG magic, then junk: read as an image (by OCR), which it is not.
    assert "not a readable image (corrupt or truncated)" in results["mixed/photo.png"].reason
    assert results["mixed/.env"].reason == (
        "mixed/.env: hidden file: not read (name it directly to ingest it)"
    )
    assert results["mixed/.git"].reason == (
        "mixed/.git: hidden folder: not searched (2 files inside)"
    )
    assert "PDF" in results["mixed/broken.pdf"].reason
    assert "its gzip content: unsupported file type .tar" in results["mixed/bundle.tar.gz"].reason
    assert (report.ingested, report.failed, report.skipped) == (8, 2, 3)
    assert "  failed: mixed/photo.png: not a readable image" in report.summary()
    assert report.summary().startswith("8 ingested, 0 unchanged, 2 failed, 3 skipped; ")
    # The manual page is cited by its sections and reads without troff markup.
    page = index.get_chunks(results["mixed/chown.1.gz"].doc_id)
    assert {"NAME", "OPTIONS", "EXAMPLES"} <= {c.metadata["locator"] for c in page}
    assert not any("\\f" in c.page_content or "\n.TP" in c.page_content for c in page)
    # What the parser forgave reaches the report; clean files carry no warnings.
    assert results["mixed/shop.xml"].warnings[0].startswith(
        "not well-formed XML recovered at line 4"
    )
    assert results["mixed/manpage.example.sgml"].warnings[0].endswith(
        "read as HTML instead (its text, not its XML records)"
    )
    assert results["mixed/notes.txt"].warnings == ()
    stored = " ".join(c.page_content for c in index.iter_chunks())
    assert "hunter2" not in stored and "refs/heads" not in stored
    assert "changed the default digest" in stored  # the compressed file's text
    assert {d.format for d in index.list_documents()} == {"text", "xml", "html", "manpage"}


def test_walk_lists_what_it_passes_over(tmp_path):
    folder = tmp_path / "docs"
    (folder / "index").mkdir(parents=True)
    (folder / "index" / "chroma.sqlite3").write_bytes(b"SQLite format 3\x00")
    (folder / "a.md").write_text("# A\n")
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    (folder / "dangling.md").symlink_to(tmp_path / "gone.md")
    os.mkfifo(folder / "pipe")

    walked = dict(walk_paths([folder, tmp_path / "named.md"], exclude=[folder / "index"]))

    assert walked == {
        folder / "a.md": "",
        folder / "dangling.md": "broken symbolic link",
        folder / "index": "the index's own folder: not searched",
        folder / "loop": "symbolic link to a folder: not followed (links can loop)",
        folder / "pipe": "not a regular file (a pipe, socket or device): not read",
        tmp_path / "named.md": "",  # named directly: read (or failed) whatever it is
    }


def test_the_disk_index_inside_an_ingested_folder_is_not_read(tmp_path, embeddings, monkeypatch):
    from tests.rag.conftest import make_settings

    monkeypatch.chdir(tmp_path)
    settings = make_settings(tmp_path, "disk")  # the index lives in tmp_path/index
    (tmp_path / "notes.md").write_text(MANUAL, encoding="utf-8")
    index = DocumentIndex(settings, embeddings=embeddings)
    report = index.ingest_paths([tmp_path])
    statuses = {r.path: (r.status, r.reason) for r in report.files}
    assert statuses["notes.md"] == ("ingested", "")
    assert statuses["index"] == ("skipped", "index: the index's own folder: not searched")
    assert not [path for path in statuses if path.startswith("index/")]


def test_ingest_bytes_uses_the_given_name_as_source(index):
    report = index.ingest_bytes(MANUAL.encode(), "upload-manual.md")
    assert report.files[0].status == "ingested"
    assert [d.source for d in index.list_documents()] == ["upload-manual.md"]
    assert top(index, "water tank capacity").metadata["source"] == "upload-manual.md"
    assert index.ingest_bytes(MANUAL.encode(), "upload-manual.md").unchanged == 1


def test_progress_reports_every_file(index, corpus):
    events: list[IngestProgress] = []
    index.ingest_paths([corpus], progress=events.append)
    assert events and all(isinstance(e, IngestProgress) for e in events)
    assert events[-1].files_done == events[-1].files_total == 6  # ignored.bin counts too
    assert events[-1].chunks_done == index.count()
    assert [e.files_done for e in events] == sorted(e.files_done for e in events)
    # Chunks count when embedded, written ones stay counted: the figure never goes back.
    assert [e.chunks_done for e in events] == sorted(e.chunks_done for e in events)


def test_langchain_store_is_the_same_collection(index, corpus):
    index.ingest_paths([corpus / "sample.pdf", corpus / "notes.txt"])
    store = index.langchain_store
    doc, score = store.similarity_search_with_relevance_scores("flux capacitor power", k=1)[0]
    hit = index.search("flux capacitor power", k=1)[0]
    assert doc.metadata["chunk_id"] == hit.chunk_id
    assert score == pytest.approx(hit.score, abs=1e-5)


def test_collection_of_another_model_is_refused(store_settings, embeddings):
    client = get_client(store_settings)
    client.create_collection(
        store_settings.store.collection,
        metadata={"hnsw:space": "cosine", EMBEDDING_MODEL_KEY: "other/model"},
        embedding_function=None,
    )
    try:
        with pytest.raises(EmbeddingMismatchError, match="built with other/model"):
            DocumentIndex(store_settings, embeddings=embeddings)
    finally:
        client.delete_collection(store_settings.store.collection)


def test_chunk_ids_come_from_content_and_count_repeats():
    chunks = [
        Document(page_content=t, metadata={"content_hash": h})
        for t, h in [("a", "h1"), ("b", "h2"), ("a", "h1")]
    ]
    assert chunk_ids("d0c", chunks) == ["d0c-h1-0", "d0c-h2-0", "d0c-h1-1"]


def test_source_key_is_relative_inside_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert source_key(Path("a/b.md")) == "a/b.md"
    assert source_key(tmp_path / "a" / "b.md") == "a/b.md"
    outside = tmp_path.parent / "elsewhere.md"
    assert source_key(outside) == outside.resolve().as_posix()
    assert document_id("a/b.md") == document_id(source_key(Path("a/b.md")))
    assert len(document_id("a/b.md")) == 16


def test_disk_index_survives_a_new_process(tmp_path, corpus, embeddings):
    from tests.rag.conftest import make_settings

    settings = make_settings(tmp_path, "disk")
    DocumentIndex(settings, embeddings=embeddings).ingest_paths([corpus / "manual.md"])
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "RAG_STORE__MODE": "disk",
        "RAG_STORE__PATH": str(settings.store.path),
        "RAG_STORE__COLLECTION": settings.store.collection,
    }
    listed = subprocess.run(
        [sys.executable, "-m", "rag", "list"], env=env, cwd=tmp_path,
        capture_output=True, text=True, timeout=300,
    )
    assert listed.returncode == 0, listed.stderr
    assert "corpus/manual.md" in listed.stdout
    assert document_id("corpus/manual.md") in listed.stdout


class _FailingReads:
    """A collection whose reads fail with ``message`` the first ``times`` times."""

    def __init__(self, collection, message: str, times: int = 1) -> None:
        self._collection, self._message, self.left = collection, message, times

    def __getattr__(self, name):
        return getattr(self._collection, name)

    def query(self, **kwargs):
        if self.left:
            self.left -= 1
            raise RuntimeError(self._message)
        return self._collection.query(**kwargs)


class _FailingWrites:
    """A collection whose chunk writes fail once ``good`` of them have been made."""

    def __init__(self, collection, good: int) -> None:
        self._collection, self.good = collection, good

    def __getattr__(self, name):
        return getattr(self._collection, name)

    def upsert(self, **kwargs):
        if self.good == 0:
            raise RuntimeError("disk full")
        self.good -= 1
        return self._collection.upsert(**kwargs)


def test_a_failed_write_keeps_the_files_written_before_it_and_stops_the_run(
    tmp_path, corpus, embeddings
):
    from rag.errors import StoreError
    from tests.rag.conftest import make_settings

    settings = make_settings(tmp_path, "disk")
    settings.ingest.flush_chunks = 1  # one embedding pass and one write per file
    index = DocumentIndex(settings, embeddings=embeddings)
    index.collection = _FailingWrites(index.collection, good=2)
    files = [corpus / "manual.md", corpus / "notes.txt", corpus / "sample.pdf"]
    with pytest.raises(StoreError, match=r"writing .*sample\.pdf.* failed: disk full"):
        index.ingest_paths(files)
    # The two files written before the failure are whole and listed; the third is not.
    reopened = DocumentIndex(settings, embeddings=embeddings)
    assert sorted(d.source for d in reopened.list_documents()) == sorted(
        source_key(f) for f in files[:2])
    assert reopened.count() == sum(d.chunks for d in reopened.list_documents())


def test_a_read_on_a_stale_disk_view_is_retried_on_a_fresh_client(tmp_path, corpus, embeddings):
    from tests.rag.conftest import make_settings

    index = DocumentIndex(make_settings(tmp_path, "disk"), embeddings=embeddings)
    index.ingest_paths([corpus / "manual.md"])
    # What Chroma raises when another process wrote between our marker check and this read.
    index.collection = _FailingReads(index.collection, "Error finding id 42", times=2)
    hits = index.search("How often must the machine be descaled?", k=1)
    assert "42 days" in hits[0].doc.page_content
    assert not isinstance(index.collection, _FailingReads)  # reopened on a fresh client


def test_any_other_read_error_is_raised_at_once_with_its_reason(tmp_path, corpus, embeddings):
    from rag.errors import StoreError
    from tests.rag.conftest import make_settings

    index = DocumentIndex(make_settings(tmp_path, "disk"), embeddings=embeddings)
    index.ingest_paths([corpus / "manual.md"])
    failing = index.collection = _FailingReads(index.collection, "disk I/O error", times=1)
    with pytest.raises(StoreError, match=r"searching '.*' failed: disk I/O error"):
        index.search("descaled", k=1)
    assert index.collection is failing  # not reopened


def test_version_is_read_again_only_after_a_write(index, corpus, monkeypatch):
    # The registry read behind version() grows with the library; between writes it is
    # remembered (memory, disk), but a Chroma server's other clients write without telling
    # us, so there it is read every time.
    index.ingest_paths([corpus / "manual.md"])
    reads = []
    original = DocumentIndex._read_version
    monkeypatch.setattr(DocumentIndex, "_read_version",
                        lambda self: reads.append(1) or original(self))
    first = index.version()
    assert index.version() == first
    remembered = index.settings.store.mode != "server"
    assert len(reads) == (1 if remembered else 2)

    index.ingest_paths([corpus / "notes.txt"])  # a write by this process
    second = index.version()
    assert second != first
    if index.settings.store.mode == "disk":
        # Another process of ours writes the marker file: read again (same content here).
        marker = Path(index.settings.store.path) / ".rag-write-generation"
        count = len(reads)
        marker.write_text("another-process", encoding="utf-8")
        assert index.version() == second
        assert len(reads) == count + 1


def test_a_file_without_a_title_is_headed_by_its_place_in_the_ingested_folder(index, tmp_path,
                                                                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "library" / "kiln-registry" / "data"
    folder.mkdir(parents=True)
    (folder / "meta.json").write_text('{"File-Date": "2025-08-25"}', encoding="utf-8")
    index.ingest_paths([tmp_path / "library"])
    [chunk] = index.get_chunks(index.list_documents()[0].doc_id)
    assert chunk.metadata["header"] == "kiln-registry/data/meta"
    # Named directly, the file has no folder around it: its name heads it.
    index.ingest_paths([folder / "meta.json"], force=True)
    [chunk] = index.get_chunks(index.list_documents()[0].doc_id)
    assert chunk.metadata["header"] == "meta"
