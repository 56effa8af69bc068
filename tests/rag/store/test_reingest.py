"""Re-ingest reads only files in the upload folder or the corpus folders, whatever path a
registry record names (a record planted in a shared Chroma store must not make the app read a
local file into it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.settings import IngestSettings
from rag.store.index import DocumentIndex
from rag.store.reingest import ReingestRefused, reingest_path, reingest_paths
from rag.store.sources import document_id
from tests.rag.conftest import make_settings


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "uploads").mkdir()
    (tmp_path / "corpus").mkdir()
    settings = make_settings(tmp_path, "memory")
    return settings.model_copy(update={"ingest": IngestSettings(
        upload_dir=Path("uploads"), corpus_dirs=[tmp_path / "corpus"])})


@pytest.fixture
def secret(tmp_path) -> Path:
    path = tmp_path / "secrets.txt"
    path.write_text("OPENAI_API_KEY=sk-planted-never-read\n")
    return path


def test_files_in_the_upload_and_corpus_folders_are_re_read(settings, tmp_path):
    (tmp_path / "uploads" / "a.txt").write_text("upload")
    (tmp_path / "corpus" / "sub").mkdir()
    (tmp_path / "corpus" / "sub" / "b.txt").write_text("corpus")
    paths, refused = reingest_paths(["uploads/a.txt", str(tmp_path / "corpus/sub/b.txt")],
                                    settings)
    assert refused == []
    assert paths == [(tmp_path / "uploads/a.txt").resolve(),
                     (tmp_path / "corpus/sub/b.txt").resolve()]


@pytest.mark.parametrize("source", ["secrets.txt", "uploads/../secrets.txt", "/etc/passwd"])
def test_a_path_outside_the_allowed_folders_is_refused(settings, secret, source):
    with pytest.raises(ReingestRefused) as caught:
        reingest_path(source, settings)
    assert str(caught.value).startswith(f"{source}: not re-read: it is outside the upload "
                                        "folder and the corpus folders (")
    assert "setting ingest.corpus_dirs" in str(caught.value)


def test_a_symbolic_link_inside_the_upload_folder_is_resolved_first(settings, tmp_path, secret):
    (tmp_path / "uploads" / "innocent.txt").symlink_to(secret)
    with pytest.raises(ReingestRefused, match="outside the upload folder"):
        reingest_path("uploads/innocent.txt", settings)
    (tmp_path / "uploads" / "linked").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(ReingestRefused, match="outside the upload folder"):
        reingest_path("uploads/linked/secrets.txt", settings)


def test_a_missing_source_says_so(settings):
    with pytest.raises(ReingestRefused, match="source file no longer on disk"):
        reingest_path("uploads/gone.txt", settings)


def test_a_planted_registry_record_is_refused_and_the_file_never_read(
        settings, secret, embeddings):
    index = DocumentIndex(settings, embeddings=embeddings)
    try:
        # What a visitor with write access to the Chroma server can do: a record of its own.
        planted = str(secret)
        index.registry.upsert(ids=[document_id(planted)], embeddings=[[0.0]],
                              documents=[planted],
                              metadatas=[{"source": planted, "title": "notes", "chunks": 1}])
        sources = [d.source for d in index.list_documents()]
        assert sources == [planted]
        paths, refused = reingest_paths(sources, settings)
        assert paths == []
        assert [str(r) for r in refused] == [
            f"{planted}: not re-read: it is outside the upload folder and the corpus folders "
            f"({(secret.parent / 'uploads').resolve()}, {(secret.parent / 'corpus').resolve()}); "
            "re-ingest reads only files there (setting ingest.corpus_dirs)"]
        assert index.count() == 0
    finally:
        index.drop()
