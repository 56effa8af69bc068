"""Binary data written out as text (base64, hex) is left out of the indexed text, and said."""

import base64
import hashlib
import re

from ingest import parse_bytes, parse_file
from ingest.encoded import MIN_BLOCK_CHARS, elide_encoded

_SOUP = re.compile(r"[A-Za-z0-9+/=]{200,}")  # a path's 64-character hash is text


def _png(data_dir) -> bytes:
    return (data_dir / "scan_lease.png").read_bytes()


def test_a_real_notebooks_inline_plots_are_left_out_and_its_text_kept(data_dir):
    parsed = parse_file(data_dir / "density_relevance.ipynb")
    text = "\n".join(unit.page_content for unit in parsed.units)
    # Three plots, 330 KB of base64 PNG: each is a note now, not hundreds of chunks of soup.
    assert text.count("[encoded data, ") == 3
    assert not _SOUP.search(text)
    assert any("left out 3 block(s) of encoded binary data" in w for w in parsed.warnings)
    # The cells' prose and code are still there, each cell's lines joined as written.
    assert "source: # Density based retrieval relevance\n\nAn important aspect" in text
    assert "import chromadb\nfrom chromadb.config import Settings" in text


def test_wrapped_base64_keeps_line_numbers_and_the_text_around_it(data_dir):
    encoded = base64.encodebytes(_png(data_dir)).decode()  # MIME: 76 characters a line
    source = (f"Lease scan attached below.\n-----BEGIN DATA-----\n{encoded}-----END DATA-----\n"
              "Signed by both parties.\nThanks\n")
    text, blocks, chars = elide_encoded(source)
    assert blocks == 1 and chars >= len(encoded.strip())
    assert text.count("\n") == source.count("\n")  # a line locator after it stays right
    lines = text.split("\n")
    assert lines[0] == "Lease scan attached below." and lines[2].startswith("[encoded data, ")
    assert lines[-3:] == ["Signed by both parties.", "Thanks", ""]
    assert not any(line in text for line in encoded.split())  # the short last line too


def test_a_data_uri_in_markdown_is_left_out(data_dir):
    uri = "data:image/png;base64," + base64.b64encode(_png(data_dir)).decode()
    parsed = parse_bytes(f"# Floor plan\n\nThe hall is on the left.\n\n![plan]({uri})\n".encode(),
                         "plan.md")
    text = parsed.units[0].page_content
    assert "The hall is on the left." in text and "![plan](data:image/png;base64,[encoded" in text
    assert parsed.warnings and "encoded binary data" in parsed.warnings[-1]


def test_words_checksums_and_sequences_are_text():
    checksum = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" * 2  # 128 hex
    dna = "ACGTTGCA" * 40
    identifier = "AbstractSingletonProxyFactoryBeanWithAVeryLongNameIndeedForTests"
    for text in (f"sha512: {checksum}", dna, identifier * 4, "word " * 500):
        assert elide_encoded(text) == (text, 0, 0)
    # Runs of encoded data shorter than a block (a short token, a key) stay too.
    token = base64.b64encode(bytes(range(100))).decode()
    assert len(token) < MIN_BLOCK_CHARS and elide_encoded(f"key {token}")[1] == 0


def test_a_list_of_checksums_one_a_line_is_text():
    digests = [hashlib.sha256(name.encode()).hexdigest() for name in "abcdefgh"]
    for text in ("\n".join(digests), "\n".join(d.upper() for d in digests),
                 "\n".join(hashlib.md5(n.encode()).hexdigest() for n in "abcdefghijkl")):
        assert elide_encoded(text) == (text, 0, 0)
    # A hex blob longer than any digest is still encoded data.
    blob = bytes(range(256)).hex() * 2
    assert elide_encoded(blob)[1] == 1


def test_the_scan_is_linear_on_hostile_text():
    # Runs one character short of a run, again and again; then one huge run with no digit;
    # then runs each one whitespace apart from the next (a quadratic scan would not end here).
    hostile = ("a1" * 29 + "b ") * 20_000 + "x" * 500_000 + ("x" * 60 + " ") * 20_000
    assert elide_encoded(hostile)[1] == 0
