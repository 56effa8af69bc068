"""Uploaded file names cannot escape the upload folder; sizes are limited."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.errors import IngestError
from rag.errors import ConfigError
from rag.settings import IngestSettings, Settings
from rag.store.uploads import MAX_NAME_CHARS, for_owner, sanitize_filename, save_upload, upload_path


@pytest.fixture
def settings(tmp_path):
    return Settings(ingest=IngestSettings(upload_dir=tmp_path / "uploads", max_file_mb=0.01))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("/abs/path/notes.md", "notes.md"),
        ("evil\x00.pdf.txt", "evil.pdf.txt"),
        ("line\nbreak\r.txt", "linebreak.txt"),
        ("..", "upload"),
        ("", "upload"),
        ("../", "upload"),
        (".hidden", "hidden"),
        ("a..b.txt", "a.b.txt"),
        ("C:secret.txt", "C_secret.txt"),
        ("gm\u202etxt.exe", "gmtxt.exe"),  # right-to-left override disguising an extension
    ],
)
def test_sanitize_filename(name, expected):
    assert sanitize_filename(name) == expected


def test_long_name_is_cut_to_the_limit_keeping_the_extension():
    name = "x" * 300 + ".pdf"
    cleaned = sanitize_filename(name)
    assert len(cleaned) == MAX_NAME_CHARS
    assert cleaned.endswith(".pdf")


@given(st.text(max_size=400))
def test_any_name_becomes_one_safe_component(name):
    cleaned = sanitize_filename(name)
    assert cleaned
    assert "/" not in cleaned and "\\" not in cleaned and "\x00" not in cleaned
    assert ".." not in cleaned
    assert len(cleaned) <= MAX_NAME_CHARS
    assert not any(ord(ch) < 32 for ch in cleaned)


def test_saved_upload_stays_inside_the_upload_dir(settings, tmp_path):
    path = save_upload("../../../outside.txt", b"hello", settings)
    root = (tmp_path / "uploads").resolve()
    assert path.parent == root
    assert path.read_bytes() == b"hello"
    assert not (tmp_path / "outside.txt").exists()
    assert [p.name for p in root.iterdir()] == ["outside.txt"]  # no temp file left behind


def test_same_name_twice_replaces_the_file(settings):
    first = save_upload("doc.txt", b"one", settings)
    second = save_upload("doc.txt", b"two", settings)
    assert first == second
    assert second.read_bytes() == b"two"


def test_oversized_upload_is_refused_with_the_limit_named(settings):
    with pytest.raises(IngestError) as err:
        save_upload("big.pdf", b"x" * 20_000, settings)
    assert "limit is 0.01 MB" in str(err.value)
    assert not settings.ingest.upload_dir.exists() or not any(settings.ingest.upload_dir.iterdir())


def test_empty_upload_is_refused(settings):
    with pytest.raises(IngestError, match="empty"):
        save_upload("empty.txt", b"", settings)


def test_symlink_in_upload_dir_cannot_redirect_a_write(settings, tmp_path):
    root = settings.ingest.upload_dir
    root.mkdir(parents=True)
    (root / "link.txt").symlink_to(tmp_path / "target.txt")
    with pytest.raises(IngestError, match="leave the upload folder"):
        upload_path("link.txt", settings)


# -- per-user folders (sign-in on) -----------------------------------------------------------
def test_each_user_uploads_into_a_folder_of_their_own(settings):
    alice, bob = for_owner(settings, "alice"), for_owner(settings, "bob")
    root = settings.ingest.upload_dir
    assert alice.ingest.upload_dir == root / "alice"
    first = save_upload("report.pdf", b"%PDF alice", alice)
    second = save_upload("report.pdf", b"%PDF bob", bob)
    assert first != second
    assert first.read_bytes() == b"%PDF alice" and second.read_bytes() == b"%PDF bob"
    assert first.parent == (root / "alice").resolve()


def test_without_sign_in_the_shared_folder_is_kept(settings):
    assert for_owner(settings, "") is settings


@pytest.mark.parametrize("owner", ["..", "../bob", "a/b", "Alice"])
def test_an_owner_that_is_not_a_user_name_never_becomes_a_folder(settings, owner):
    with pytest.raises(ConfigError):
        for_owner(settings, owner)


def test_a_deleted_upload_leaves_no_copy_but_other_files_stay(settings, tmp_path):
    from rag.store.uploads import remove_upload_copy

    kept = save_upload("notes.md", b"# Notes", settings)
    assert remove_upload_copy(str(kept), settings) and not kept.exists()
    assert not remove_upload_copy(str(kept), settings)  # already gone
    outside = tmp_path / "corpus" / "notes.md"
    outside.parent.mkdir()
    outside.write_text("# Mine")
    assert not remove_upload_copy(str(outside), settings) and outside.exists()
