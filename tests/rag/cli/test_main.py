"""``python -m rag`` as a user runs it: subprocesses, a disk index in tmp_path, exit codes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.cli.main import build_parser, settings_from_args
from rag.settings import Settings

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data"


@pytest.fixture
def workdir(tmp_path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "zephyr.md").write_text(
        "# Zephyr-9\n\n## Maintenance\n\nDescale the Zephyr-9 coffee machine every 42 days.\n",
        encoding="utf-8",
    )
    shutil.copy(DATA / "sample.pdf", docs / "sample.pdf")
    return tmp_path


def rag(workdir: Path, *args: str, env: dict[str, str] | None = None):
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "RAG_STORE__MODE": "disk",
        "RAG_STORE__PATH": str(workdir / "index"),
        "RAG_INGEST__UPLOAD_DIR": str(workdir / "uploads"),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "rag", *args], cwd=workdir, env=environment,
        capture_output=True, text=True, timeout=600,
    )


def test_ingest_list_search_delete(workdir):
    first = rag(workdir, "ingest", "docs")
    assert first.returncode == 0, first.stderr
    assert "ingested   docs/sample.pdf" in first.stdout
    assert "2 ingested, 0 unchanged, 0 failed" in first.stdout
    assert "file" in first.stderr  # the tqdm progress bar goes to stderr

    again = rag(workdir, "ingest", "docs")
    assert again.returncode == 0
    assert "0 ingested, 2 unchanged, 0 failed; 0 chunks embedded" in again.stdout

    listed = rag(workdir, "list")
    assert listed.returncode == 0
    assert "docs/sample.pdf" in listed.stdout and "docs/zephyr.md" in listed.stdout
    assert "2 documents" in listed.stdout

    found = rag(workdir, "search", "How much power does the flux capacitor need?", "-k", "2")
    assert found.returncode == 0, found.stderr
    first_hit = found.stdout.splitlines()[0]
    # The cosine, then the mode's own score that orders the list (hybrid's fused score).
    assert first_hit.startswith(" 1. cos 0.") and " · hybrid 0." in first_hit
    assert first_hit.endswith("docs/sample.pdf | page 2")
    assert found.stdout.splitlines()[1].startswith("    [")  # the chunk's header, shown apart
    assert "1.21 gigawatts" in found.stdout

    deleted = rag(workdir, "delete", "docs/sample.pdf")
    assert deleted.returncode == 0 and "deleted docs/sample.pdf" in deleted.stdout
    assert "docs/sample.pdf" not in rag(workdir, "list").stdout


def test_a_failed_file_gives_exit_code_1_and_the_rest_is_ingested(workdir):
    shutil.copy(DATA / "truncated.pdf", workdir / "docs" / "broken.pdf")
    result = rag(workdir, "ingest", "docs")
    assert result.returncode == 1
    assert "failed     docs/broken.pdf  (docs/broken.pdf: " in result.stdout
    assert "2 ingested, 0 unchanged, 1 failed" in result.stdout


def test_skipped_files_and_warnings_are_printed_per_file(workdir):
    docs = workdir / "docs"
    shutil.copy(DATA / "bare_ampersand.xml", docs / "shop.xml")
    shutil.copy(DATA / "net-wireless-hidden.page", docs / "wireless.page")
    (docs / "archive.bin").write_bytes(bytes(range(256)))
    (docs / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    result = rag(workdir, "ingest", "docs")
    assert result.returncode == 0, result.stdout  # skipped files are listed, not errors
    lines = result.stdout.splitlines()
    assert "skipped    docs/.DS_Store  (docs/.DS_Store: hidden file: not read " in result.stdout
    assert any(line.startswith("skipped    docs/archive.bin  (docs/archive.bin: unsupported "
                               "file type .bin;") and "binary data" in line for line in lines)
    assert "ingested   docs/wireless.page" in result.stdout
    shop = lines.index(next(line for line in lines if line.startswith("ingested   docs/shop.xml")))
    assert lines[shop + 1].startswith(
        "           warning: not well-formed XML recovered at line 4, column "
    )
    assert "4 ingested, 0 unchanged, 0 failed, 2 skipped; " in result.stdout


def test_scans_print_a_line_per_ocr_page_and_the_count(workdir):
    shutil.copy(DATA / "scan_rotated.pdf", workdir / "docs" / "scan.pdf")
    result = rag(workdir, "ingest", "docs")
    assert result.returncode == 0, result.stdout + result.stderr
    for page in (1, 2):
        assert f"OCR docs/scan.pdf page {page} ({page}/2 pages without text, " in result.stderr
    assert "ingested   docs/scan.pdf  (2 chunks, 2 embedded, 0 reused, 2 pages read by OCR)" \
        in result.stdout
    assert "; 2 pages read by OCR" in result.stdout

    again = rag(workdir, "ingest", "docs")  # unchanged: not read again
    assert "OCR docs/scan.pdf" not in again.stderr and "read by OCR" not in again.stdout


def test_if_empty_skips_a_filled_collection(workdir):
    assert rag(workdir, "ingest", "docs/zephyr.md").returncode == 0
    skipped = rag(workdir, "ingest", "docs", "--if-empty")
    assert skipped.returncode == 0
    assert "nothing to do (--if-empty)" in skipped.stdout
    assert "docs/sample.pdf" not in rag(workdir, "list").stdout


def test_errors_are_one_clean_line_and_exit_code_2(workdir):
    missing = rag(workdir, "delete", "no-such-doc")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "error: no document 'no-such-doc' in collection documents"
    assert "Traceback" not in missing.stderr

    bad_name = rag(workdir, "list", "--collection", "a/b")
    assert bad_name.returncode == 2 and "invalid collection name" in bad_name.stderr

    unreachable = rag(workdir, "list", "--store", "server", "--port", "9")
    assert unreachable.returncode == 2
    assert unreachable.stderr.startswith("error: cannot open the server store at 127.0.0.1:9")


def test_store_options_work_before_and_after_the_command(tmp_path):
    parser = build_parser()
    base = Settings()
    before = settings_from_args(
        parser.parse_args(["--store", "memory", "--collection", "abc", "list"]), base
    )
    after = settings_from_args(
        parser.parse_args(["list", "--store", "server", "--port", "9000"]), base
    )
    assert (before.store.mode, before.store.collection) == ("memory", "abc")
    assert (after.store.mode, after.store.port, after.store.collection) == (
        "server", 9000, base.store.collection
    )
    path = settings_from_args(parser.parse_args(["list", "--path", str(tmp_path)]), base)
    assert path.store.path == tmp_path
