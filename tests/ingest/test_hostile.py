"""Hostile and broken files: each gives one clear IngestError, never a crash or a leak."""

import contextlib
import http.server
import threading
from pathlib import Path

import pytest

from ingest import IngestError, ParsedFile, ParseLimits, parse_bytes, parse_file
from ingest.json_ import parse_json
from tests.ingest.conftest import read

SUITE = Path("/work/shared/benchmarks/json_test_suite/test_parsing")
MB = 1024 * 1024


def _reason(path_or_data, name: str | None = None, limits: ParseLimits | None = None) -> str:
    with pytest.raises(IngestError) as caught:
        if name is None:
            parse_file(path_or_data, limits)
        else:
            parse_bytes(path_or_data, name, limits)
    assert caught.value.file == (name or Path(path_or_data).name)
    assert str(caught.value).startswith(f"{caught.value.file}: ")
    return caught.value.reason


# --- empty, oversize, binary, lying extensions -------------------------------------------

@pytest.mark.parametrize("ext", [".pdf", ".html", ".json", ".jsonl", ".xml", ".txt", ".md"])
def test_zero_byte_file(tmp_path, ext):
    empty = tmp_path / f"empty{ext}"
    empty.write_bytes(b"")
    assert _reason(empty) == "empty file"


def test_oversize_file_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:
        handle.truncate(3 * MB)  # sparse: the size says 3 MB without writing it
    assert _reason(big, limits=ParseLimits(max_bytes=2 * MB)) == "file is 3 MB, limit is 2 MB"


@pytest.mark.parametrize("name", ["junk.txt", "junk.md", "junk.html", "junk.json", "junk.xml",
                                  "junk.jsonl"])
def test_binary_junk_in_a_text_format(name):
    assert _reason(read("binary_junk.txt"), name).startswith("binary or non-text content")


def test_high_bytes_without_nul_are_binary_not_cp1252():
    junk = bytes(range(0x80, 0x100)) * 8
    assert _reason(junk, "junk.txt").startswith("binary or non-text content")


def test_pdf_named_json_is_read_as_pdf(data_dir):
    assert parse_file(data_dir / "pdf_named.json").format == "pdf"


def test_text_named_json_says_the_content_does_not_match():
    reason = _reason(b"hello world, not json", "data.json")
    assert reason == "content does not match extension .json (looks like plain text)"


# --- PDFs ---------------------------------------------------------------------------------

def test_encrypted_pdfs(data_dir):
    assert parse_file(data_dir / "encrypted_empty_password.pdf").units
    assert _reason(data_dir / "encrypted_password.pdf") == "encrypted PDF: a password is required"


def test_image_only_pdf(data_dir):
    reason = _reason(data_dir / "image_only.pdf")
    assert reason == ("no text layer (image-only/scanned PDF); OCR is off "
                      "(RAG_INGEST__OCR=true turns it on)")


def test_truncated_pdf(data_dir):
    assert _reason(data_dir / "truncated.pdf").startswith("not a readable PDF (corrupt or trunc")


@pytest.mark.parametrize("fraction", [0.05, 0.25, 0.5, 0.75, 0.95, 0.999])
def test_pdf_cut_anywhere_never_crashes(fraction):
    data = read("sample.pdf")
    try:
        parsed = parse_bytes(data[: int(len(data) * fraction)], "cut.pdf")
    except IngestError as error:
        assert error.reason.startswith(("not a readable PDF", "no text layer"))
    else:  # PDFium can rebuild a missing cross-reference table: what it reads must be right
        assert isinstance(parsed, ParsedFile)
        assert all(unit.metadata["locator"] == f"page {unit.metadata['page']}"
                   for unit in parsed.units)


def test_pdf_with_garbage_body():
    assert _reason(b"%PDF-1.7\n" + bytes(range(256)) * 40, "garbage.pdf").startswith(
        "not a readable PDF (corrupt or truncated): "
    )


# --- HTML ---------------------------------------------------------------------------------

def test_non_utf8_and_mixed_encoding_html(data_dir):
    assert "Crème brûlée" in parse_file(data_dir / "cp1252.html").units[0].page_content
    assert "façade" in parse_file(data_dir / "mixed_encoding.html").units[0].page_content


def _write_big_html(path: Path, megabytes: int) -> None:
    paragraph = "<p>" + "The quick brown fox jumps over the lazy dog. " * 20 + "</p>"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("<html><head><title>Big</title></head><body>")
        section = 0
        while handle.tell() < megabytes * MB:
            handle.write(f'<h2 id="s{section}">Section {section}</h2>{paragraph * 3}')
            section += 1
        handle.write("</body></html>")


def test_50_mb_html_is_refused_by_a_tight_limit(tmp_path):
    page = tmp_path / "big.html"
    _write_big_html(page, 50)
    assert _reason(page, limits=ParseLimits(max_bytes=10 * MB)).endswith(", limit is 10 MB")


@pytest.mark.slow
def test_50_mb_html_parses_within_the_time_limit(tmp_path):
    page = tmp_path / "big.html"
    _write_big_html(page, 50)
    parsed = parse_file(page, ParseLimits(max_bytes=60 * MB, max_seconds=120))
    assert parsed.title == "Big"
    assert parsed.units[-1].metadata["locator"] == f"Section {len(parsed.units) - 1}#s" + str(
        len(parsed.units) - 1
    )


def test_time_limit_is_enforced(tmp_path):
    page = tmp_path / "slow.html"
    _write_big_html(page, 2)
    reason = _reason(page, limits=ParseLimits(max_seconds=0.000001))
    assert reason == "parsing took longer than the limit of 1e-06 s"


# --- JSON ---------------------------------------------------------------------------------

@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_10000_deep_json_is_refused_without_recursion_error(opener):
    closer = "]" if opener == "[" else "}"
    deep = (opener * 10_000 + "1" + closer * 10_000).encode()
    reason = _reason(deep, "deep.json")
    assert reason == "JSON nesting is deeper than the limit of 200 levels"


def test_deep_line_in_json_lines():
    deep = b'{"ok": 1}\n' + b"[" * 10_000 + b"]" * 10_000 + b"\n"
    assert _reason(deep, "deep.jsonl") == (
        "JSON nesting on line 2 is deeper than the limit of 200 levels"
    )


def _write_json_with_long_string(path: Path, megabytes: int) -> None:
    chunk = "x" * MB
    with path.open("w", encoding="ascii") as handle:
        handle.write('{"title": "huge", "body": "')
        for _ in range(megabytes):
            handle.write(chunk)
        handle.write('"}')


def test_100_mb_json_is_refused_by_the_default_size_limit(tmp_path):
    path = tmp_path / "huge.json"
    _write_json_with_long_string(path, 100)
    assert _reason(path) == "file is 100 MB, limit is 60 MB"


@pytest.mark.slow
def test_100_mb_json_string_is_refused_by_the_string_limit(tmp_path):
    path = tmp_path / "huge.json"
    _write_json_with_long_string(path, 100)
    reason = _reason(path, limits=ParseLimits(max_bytes=200 * MB))
    assert reason == "a JSON string is longer than the limit of 2,000,000 characters"


def _suite(prefix: str) -> list[Path]:
    return sorted(SUITE.glob(f"{prefix}_*.json"))


@pytest.mark.parametrize("path", _suite("n"), ids=lambda p: p.name)
def test_json_test_suite_rejects_every_n_file(path):
    with pytest.raises(IngestError):
        parse_json(path.read_bytes(), path.name, ParseLimits())


@pytest.mark.parametrize("path", _suite("y"), ids=lambda p: p.name)
def test_json_test_suite_accepts_every_y_file(path):
    # Decision: valid JSON with nothing to index ([], {}, null, "", {"a": []}) is refused with
    # "valid JSON but no text to index"; every other y_ file must parse.
    try:
        parsed = parse_json(path.read_bytes(), path.name, ParseLimits())
    except IngestError as error:
        assert error.reason.startswith("valid JSON but no text to index")
    else:
        assert parsed.units


@pytest.mark.parametrize("path", _suite("i"), ids=lambda p: p.name)
def test_json_test_suite_implementation_defined_files_never_crash(path):
    with contextlib.suppress(IngestError):
        parse_json(path.read_bytes(), path.name, ParseLimits())


def test_suite_is_present():
    assert len(_suite("n")) > 150 and len(_suite("y")) > 80


# --- XML ----------------------------------------------------------------------------------

def test_billion_laughs(data_dir):
    reason = _reason(data_dir / "billion_laughs.xml")
    assert reason.startswith("entity expansion refused")
    assert len(reason) < 250  # one line, not a dump of the expanded text


def _text(parsed) -> str:
    return "\n".join(unit.page_content for unit in parsed.units)


def test_xxe_etc_passwd(data_dir):
    parsed = parse_file(data_dir / "xxe_passwd.xml")
    assert "root:" not in _text(parsed)
    assert "[external entity secret -> file:///etc/passwd: not read]" in _text(parsed)
    assert any(w.startswith("external entities never read (secret") for w in parsed.warnings)


def test_xxe_planted_local_file_is_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7f3a")
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY s SYSTEM "{secret.as_uri()}">]>'
        "<d><r>&s;</r><r>visible</r></d>"
    ).encode()
    parsed = parse_bytes(xml, "xxe.xml")
    assert "TOP-SECRET" not in _text(parsed) + " ".join(parsed.warnings)
    assert "visible" in _text(parsed) and "not read" in _text(parsed)


def test_internal_entities_are_written_out_once_never_nested():
    # A short declared name is written out where it is referenced; a declaration that nests
    # references (the billion laughs' building block) or markup stays as written.
    xml = (b'<!DOCTYPE d [<!ENTITY product "Frobnicator 2"><!ENTITY twice "&product;&product;">'
           b'<!ENTITY mark "<b>x</b>">]>'
           b"<d><p>Use &product; daily; &twice; and &mark; stay.</p></d>")
    parsed = parse_bytes(xml, "entities.xml")
    assert _text(parsed) == "p: Use Frobnicator 2 daily; &twice; and &mark; stay."
    assert any("2 entity reference(s) left as written" in w for w in parsed.warnings)


def test_many_entity_references_take_linear_time():
    body = "&n; word " * 50_000
    xml = f'<!DOCTYPE d [<!ENTITY n "name">]><d><p>{body}</p></d>'.encode()
    parsed = parse_bytes(xml, "many.xml")
    assert _text(parsed).count("name word") == 50_000


def test_external_dtd_is_not_loaded(tmp_path):
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY leak "TOP-SECRET-DTD">')
    xml = f'<?xml version="1.0"?><!DOCTYPE d SYSTEM "{dtd.as_uri()}"><d>&leak; ok</d>'.encode()
    parsed = parse_bytes(xml, "ext.xml")
    assert "TOP-SECRET" not in "".join(unit.page_content for unit in parsed.units)
    assert parsed.units[0].page_content == "&leak; ok"  # undeclared here: left as written


@pytest.fixture
def counting_server():
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"FETCHED-FROM-NETWORK")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", requests
    finally:
        server.shutdown()
        server.server_close()


def test_xxe_url_and_parameter_entity_are_never_fetched(counting_server):
    base, requests = counting_server
    general = f'<!DOCTYPE d [<!ENTITY x SYSTEM "{base}/general">]><d>&x;</d>'
    parameter = f'<!DOCTYPE d [<!ENTITY % p SYSTEM "{base}/param"> %p;]><d>text</d>'
    external_dtd = f'<!DOCTYPE d SYSTEM "{base}/dtd"><d>text</d>'
    for xml in (general, parameter):
        parsed = parse_bytes(xml.encode(), "url.xml")
        assert "FETCHED" not in _text(parsed)
        assert any("external entities never read" in w for w in parsed.warnings)
    assert parse_bytes(external_dtd.encode(), "dtd.xml").units[0].page_content == "text"
    assert requests == []


def test_xml_with_internal_dtd_is_accepted(data_dir):
    assert parse_file(data_dir / "with_dtd.xml").units
