"""The same contract for every parser: units, locators, metadata types, frozen results."""

import dataclasses

import pytest

from ingest import ParsedFile, parse_file
from ingest.ocr import OcrOptions
from ingest.registry import PARSERS

SAMPLES = {
    "pdf": ("sample.pdf", "page"),
    "html": ("guide.html", "section"),
    "json": ("catalog.json", "pointer"),
    "jsonl": ("events.jsonl", "pointer"),
    "xml": ("catalog.xml", "xpath"),
    "text": ("notes.txt", "section"),
    "markdown": ("guide.md", "section"),
    "manpage": ("chage.1.gz", "section"),  # a real one, gzip-compressed as Debian ships it
    "image": ("scan_lease.png", "page"),  # read by OCR (make ocr-deps)
    "csv": ("debian.csv", "line"),  # a real one (Debian's distro-info-data)
}
OCR = OcrOptions()


def test_every_registered_parser_has_a_sample():
    assert set(SAMPLES) == set(PARSERS)


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_parser_contract(fmt, data_dir):
    file_name, format_key = SAMPLES[fmt]
    parsed = parse_file(data_dir / file_name, ocr=OCR)
    assert isinstance(parsed, ParsedFile)
    assert parsed.format == fmt
    assert parsed.title.strip()
    assert parsed.units
    for unit in parsed.units:
        assert unit.page_content.strip()
        assert isinstance(unit.metadata["locator"], str)
        assert format_key in unit.metadata
        assert all(isinstance(v, str | int | float | bool) for v in unit.metadata.values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.title = "changed"  # type: ignore[misc]


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_parsing_is_deterministic(fmt, data_dir):
    path = data_dir / SAMPLES[fmt][0]
    assert parse_file(path, ocr=OCR) == parse_file(path, ocr=OCR)
