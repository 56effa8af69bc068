"""Format detection: extensions, sniffed magic, lying extensions, unsupported types."""

import pytest

from ingest import SUPPORTED_EXTENSIONS, IngestError, detect_format, parse_bytes, parse_file
from ingest.errors import NotADocumentError
from ingest.registry import EXTENSIONS, PARSERS, extension_of, sniff_format


def test_registry_keys_match_the_contract():
    assert set(PARSERS) == {"pdf", "html", "json", "jsonl", "xml", "text", "markdown", "image",
                            "manpage", "csv"}
    assert set(EXTENSIONS.values()) <= set(PARSERS)
    assert frozenset(EXTENSIONS) == SUPPORTED_EXTENSIONS
    assert EXTENSIONS[".htm"] == "html" and EXTENSIONS[".ndjson"] == "jsonl"
    assert EXTENSIONS[".csv"] == EXTENSIONS[".tsv"] == "csv"


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
        (b"GIF89a\x10\x00\x10\x00", "image"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image"),
        (b"BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00", "image"),
        (b"BMW owners manual", None),  # "BM" alone is no bitmap: its header holds NULs
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),  # a RIFF of sound is no image
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
    assert caught.value.reason.startswith(
        "unsupported file type .xlsx; supported: .bmp, .csv, .gif, .htm"
    )


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


def test_markup_no_xml_parser_reads_is_read_as_html_with_the_xml_error_as_warning(data_dir):
    # A real DocBook 4 SGML page: "<!doctype refentry ...>" is not XML, even recovered.
    parsed = parse_file(data_dir / "manpage.example.sgml")
    assert (parsed.format, parsed.title) == ("html", "manpage.example")  # no section's title
    text = " ".join(u.page_content for u in parsed.units)
    assert "Return codes, either exit status or errno settings." in text
    assert parsed.warnings[0].startswith("not well-formed XML at line 1, column 1: ")
    assert parsed.warnings[0].endswith("; read as HTML instead (its text, not its XML records)")


def test_xml_that_recovery_and_html_cannot_read_keeps_its_xml_error():
    with pytest.raises(IngestError) as caught:  # markup without a word of text
        parse_bytes(b"<r>\n  <a>\n</r>", "empty.xml")
    assert caught.value.reason.startswith("not well-formed XML at line 3, column")


def test_truncated_json_keeps_its_syntax_error():
    with pytest.raises(IngestError, match="invalid JSON at line 1"):
        parse_bytes(b'{"a": [1, 2', "cut.json")


# --- unknown or missing extensions: the content decides -----------------------------------

@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("article.nxml", b'<?xml version="1.0"?>\n<!DOCTYPE article PUBLIC "-//NLM//DTD JATS '
                         b'(Z39.96) Journal Archiving DTD v1.2 20190208//EN" "JATS.dtd">'
                         b"<article><front/></article>", "xml"),
        ("help.page", b'<page xmlns="http://projectmallard.org/1.0/" id="x"><title>T</title>',
         "xml"),
        ("feed.rss", b'<?xml version="1.0"?><rss version="2.0"><channel>', "xml"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><text>Hi</text></svg>', "xml"),
        # XHTML: an XML root "html" in the XHTML namespace is HTML, whatever its prefix.
        ("page.xhtml", b'<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml">',
         "html"),
        ("page.xht", b'<?xml version="1.0"?>\n<!-- generated -->\n'
                     b'<h:html xmlns:h="http://www.w3.org/1999/xhtml"><h:body/></h:html>', "html"),
        ("shapes.geojson", b'{"type": "FeatureCollection", "features": []}', "json"),
        ("events.log", b'{"at": 1, "msg": "up"}\n{"at": 2, "msg": "down"}\n', "jsonl"),
        ("cut.dat", b'{"values": ["' + b"x" * 3000, "json"),  # JSON cut by the sniff window
        ("LICENSE", b"Permission is hereby granted, free of charge, to any person", "text"),
        ("README", b"# Lamplighter\n\nLights lamps at dusk.\n", "text"),
        ("changelog", b"[2024-01-02] first release\n[2024-02-03] second\n", "text"),
        ("app.conf", b"# comment\nlisten = 8080\n", "text"),
        ("notes.utf16", "utf-16 text".encode("utf-16"), "text"),
    ],
)
def test_unknown_extensions_are_read_by_content(name, head, expected):
    assert detect_format(name, head) == expected


@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("archive", bytes(range(0x80, 0x100)) * 8),  # high bytes without NUL: still binary
        ("sheet.xlsx", b"PK\x03\x04\x14\x00\x06\x00"),
    ],
)
def test_binary_data_under_an_unknown_name_is_not_a_document(name, head):
    # (images are read by OCR: tests/ingest/test_ocr.py)
    with pytest.raises(NotADocumentError) as caught:
        detect_format(name, head)
    assert caught.value.file == name
    assert caught.value.reason.endswith("this is binary data (not a supported document format)")
    assert isinstance(caught.value, IngestError)  # callers that catch IngestError still do


@pytest.mark.parametrize(
    ("file_name", "format_", "title"),
    [
        ("net-wireless-hidden.page", "xml", "Connect to a hidden wireless network"),
        ("fonts.conf", "xml", "fonts"),
        ("commons-lang3-3.12.0.pom", "xml", "commons-lang3-3.12.0"),
        ("changelog", "text", "changelog"),
    ],
)
def test_real_files_with_unknown_extensions_parse(data_dir, file_name, format_, title):
    parsed = parse_file(data_dir / file_name)
    assert (parsed.format, parsed.title) == (format_, title)
    assert parsed.units and not parsed.warnings


def test_real_files_keep_their_text(data_dir):
    page = parse_file(data_dir / "net-wireless-hidden.page")
    assert any("hidden" in unit.page_content for unit in page.units)
    pom = parse_file(data_dir / "commons-lang3-3.12.0.pom")
    assert any("artifactId: commons-lang3" in unit.page_content for unit in pom.units)
    changelog = parse_file(data_dir / "changelog")
    assert any("dusk_offset" in unit.page_content for unit in changelog.units)


# The prolog patterns once backtracked over every way a comment could run on to a later
# "-->": 20 comments took 0.25 s and each two more took four times as long, so a head of
# 250 would never finish. No wall-clock bound: the timeout is what such a head would hit.
@pytest.mark.timeout(60)
@pytest.mark.parametrize(("tail", "expected"), [
    (b"x", None),
    (b"<html><body>", "html"),
    (b"<catalog/>", "xml"),
])
def test_a_head_of_many_comments_is_sniffed_in_linear_time(tail, expected):
    head = b"<!---->" * 250 + b"\n<!-- a -- b -->" * 10 + tail  # within the 2 KB sniffed
    assert sniff_format(head) == expected
    assert detect_format("no-extension", head) == (expected or "text")
