"""The benchmark corpus generator: same seed, same bytes; every file parses with our parsers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from bench.corpus import EXTENSIONS, SIZES, ensure_corpus, generate_corpus, sample_queries


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return ensure_corpus("tiny", tmp_path_factory.mktemp("cache")).directory


def test_same_seed_gives_identical_files(tmp_path):
    generate_corpus(tmp_path / "a", SIZES["tiny"])
    generate_corpus(tmp_path / "b", SIZES["tiny"])
    first, second = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert first == second
    assert len(first) >= len(EXTENSIONS)


def test_another_seed_gives_other_text(tmp_path):
    generate_corpus(tmp_path / "a", SIZES["tiny"], seed=1)
    generate_corpus(tmp_path / "b", SIZES["tiny"], seed=2)
    a = (tmp_path / "a" / "markdown" / "markdown-00000.md").read_text()
    b = (tmp_path / "b" / "markdown" / "markdown-00000.md").read_text()
    assert a != b


def test_every_format_is_written(tiny):
    suffixes = {p.suffix for p in tiny.rglob("*") if p.is_file() and p.name != "manifest.json"}
    assert suffixes == set(EXTENSIONS.values())


def test_cached_corpus_is_reused_not_rewritten(tmp_path):
    first = ensure_corpus("tiny", tmp_path)
    marker = next(first.directory.rglob("*.md"))
    before = marker.stat().st_mtime_ns
    again = ensure_corpus("tiny", tmp_path)
    assert again == first
    assert marker.stat().st_mtime_ns == before


def test_a_half_written_cache_is_rebuilt(tmp_path):
    info = ensure_corpus("tiny", tmp_path)
    (info.directory / "manifest.json").unlink()  # as if generation had been interrupted
    stray = info.directory / "stray.txt"
    stray.write_text("left over")
    rebuilt = ensure_corpus("tiny", tmp_path)
    assert not stray.exists()
    assert rebuilt.files == info.files


def test_unknown_size_names_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match="1k"):
        ensure_corpus("huge", tmp_path)


def test_json_and_xml_are_well_formed_record_collections(tiny):
    from defusedxml import ElementTree

    for path in tiny.rglob("*.json"):
        if path.name == "manifest.json":
            continue
        items = json.loads(path.read_text())["items"]
        assert len(items) >= 20 and all(item["description"] for item in items)
    for path in tiny.rglob("*.xml"):
        root = ElementTree.parse(path).getroot()
        assert root.tag == "catalog" and len(root.findall("book")) >= 20


def test_every_file_parses_into_units_with_our_parsers(tiny):
    from ingest import parse_file

    expected = {".pdf": "pdf", ".html": "html", ".md": "markdown", ".json": "json",
                ".xml": "xml"}
    for path in sorted(tiny.rglob("*")):
        if not path.is_file() or path.name == "manifest.json":
            continue
        parsed = parse_file(path)
        assert parsed.format == expected[path.suffix], path.name
        assert len(parsed.units) >= 3, path.name
        text = " ".join(u.page_content for u in parsed.units)
        # Real prose came through (not PDF operators or markup).
        assert any(verb in text for verb in ("records", "rejects", "schedules", "archives"))


def test_pdf_pages_hold_the_drawn_text(tiny):
    import pypdfium2

    path = next(tiny.rglob("*.pdf"))
    pdf = pypdfium2.PdfDocument(str(path))
    try:
        assert len(pdf) >= 3
        first_page = pdf[0].get_textpage().get_text_range()
        assert "Page 1" in first_page and len(first_page.split()) > 100
    finally:
        pdf.close()


def test_queries_are_deterministic_and_varied():
    assert sample_queries(20) == sample_queries(20)
    assert len(set(sample_queries(20))) == 20
