"""Format detection: extensions, sniffed magic, lying extensions, unsupported types."""

import pytest

from ingest import SUPPORTED_EXTENSIONS, IngestError, detect_format, parse_bytes, parse_file
from ingest.registry import EXTENSIONS, PARSERS, extension_of, sniff_format


def test_registry_keys_match_the_contract():
    assert set(PARSERS) == {"pdf", "html", "json", "jsonl", "xml", "text", "markdown"}
    assert set(EXTENSIONS.values()) <= set(PARSERS)
    assert frozenset(EXTENSIONS) == SUPPORTED_EXTENSIONS
    assert EXTENSIONS[".htm"] == "html" and EXTENSIONS[".ndjson"] == "jsonl"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.PDF", ".pdf"), ("dir/x.tar.json", ".json"), ("C:\\d\\n.Md", ".md"), (".bashrc", ""),
     ("README", ""), ("../../etc/passwd", "")],
)
def test_extension_of_display_names(name, expected):
    assert extension_of(name) == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.7\n...", "pdf"),
        (b"  \n<!DOCTYPE html><html>", "html"),
        (b"<!-- c --><HTML lang=en>", "html"),
        (b'<?xml version="1.0"?><catalog/>', "xml"),
        (b"<catalog><book/></catalog>", "xml"),
        (b"\xef\xbb\xbf  {\"a\": 1}", "json"),
        (b"[1, 2]", "json"),
        (b"Just words.", None),
        (b"# Title", None),
    ],
)
def test_sniff_format(head, expected):
    assert sniff_format(head) == expected


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("report.pdf", b"%PDF-1.4", "pdf"),
        ("report.json", b"%PDF-1.4", "pdf"),  # PDF magic wins
        ("page.txt", b"<!doctype html><p>x", "html"),  # HTML magic wins
        ("feed.json", b'<?xml version="1.0"?><rss/>', "xml"),  # XML wins over JSON extension
        ("data.xml", b'{"a": 1}', "json"),  # "{" cannot start XML
        ("page.xhtml.xml", b"<html xmlns='http://www.w3.org/1999/xhtml'>", "xml"),
        ("notes.txt", b"[draft] notes", "text"),  # weak JSON magic does not beat .txt
        ("notes.md", b"{{template}}", "markdown"),
        ("log.ndjson", b'{"a": 1}\n{"a": 2}', "jsonl"),
        ("noext", b"%PDF-1.4", "pdf"),
        ("noext", b"<root><a>1</a></root>", "xml"),
        ("data.jsonl", b"<root><a>1</a></root>", "xml"),
    ],
)
def test_detect_format(name, head, expected):
    assert detect_format(name, head) == expected


def test_unknown_extension_lists_the_supported_ones():
    with pytest.raises(IngestError) as caught:
        detect_format("sheet.xlsx", b"PK\x03\x04")
    assert caught.value.file == "sheet.xlsx"
    assert caught.value.reason.startswith("unsupported file type .xlsx; supported: .htm, .html")


def test_pdf_bytes_named_json_are_read_as_pdf(data_dir):
    parsed = parse_file(data_dir / "pdf_named.json")
    assert parsed.format == "pdf"
    assert parsed.units[1].metadata["locator"] == "page 2"


@pytest.mark.parametrize(
    ("name", "data", "looks_like"),
    [
        ("notes.json", b"Dear diary, today I parsed JSON.", "plain text"),
        ("notes.xml", b"Dear diary, today I parsed XML.", "plain text"),
        ("scan.pdf", b'{"not": "a pdf"}', "JSON"),
        ("log.jsonl", b"2024-01-01 started\n", "plain text"),
    ],
)
def test_content_that_does_not_parse_as_its_extension(name, data, looks_like):
    with pytest.raises(IngestError) as caught:
        parse_bytes(data, name)
    extension = "." + name.rsplit(".", 1)[1]
    assert caught.value.reason == (
        f"content does not match extension {extension} (looks like {looks_like})"
    )
    assert caught.value.__cause__ is not None  # the parser's own error is kept as the cause


def test_truncated_json_keeps_its_syntax_error():
    with pytest.raises(IngestError, match="invalid JSON at line 1"):
        parse_bytes(b'{"a": [1, 2', "cut.json")
