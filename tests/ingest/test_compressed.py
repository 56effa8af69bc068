"""Compressed documents: gzip, bzip2 and xz read as their content, under the file size limit."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile

import pytest

from ingest import IngestError, ParseLimits, parse_bytes, parse_file
from ingest.compressed import COMPRESSIONS, decompress, inner_name
from ingest.errors import NotADocumentError

RECORD = b'{"name": "kettle", "watts": 2000}'
COMPRESS = {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress}


@pytest.mark.parametrize(("compression", "suffix"), [("gzip", ".gz"), ("bzip2", ".bz2"),
                                                      ("xz", ".xz")])
def test_each_compression_is_read_as_its_content(compression, suffix):
    parsed = parse_bytes(COMPRESS[compression](RECORD), f"kettle.json{suffix}")
    assert parsed.format == "json"
    assert parsed.units[0].page_content == "name: kettle\nwatts: 2000"


def test_the_inner_name_drops_only_the_compression_suffix():
    gz, bz, _ = COMPRESSIONS
    assert inner_name("notes.txt.gz", gz) == "notes.txt"
    assert inner_name("MANUAL.PDF.GZ", gz) == "MANUAL.PDF"
    assert inner_name("changelog.Debian.gz", gz) == "changelog.Debian"
    assert inner_name("notes.txt.bz2", bz) == "notes.txt"
    assert inner_name("no-suffix", gz) == "no-suffix"  # the content decides its format
    assert inner_name(".gz", gz) == ".gz"


def test_the_magic_decides_not_the_name():
    # gzip bytes under a name that says nothing of it, and text named .gz.
    assert parse_bytes(gzip.compress(b"<!doctype html><p>Kettle</p>"), "page").format == "html"
    assert parse_bytes(b"plain words in a file named .gz", "odd.gz").format == "text"
    assert decompress(b"plain", "plain.txt", ParseLimits()) is None


def test_real_debian_files_compressed_as_shipped(data_dir):
    news = parse_file(data_dir / "NEWS.Debian.gz")
    assert (news.format, news.title) == ("text", "NEWS.Debian")
    assert "changed the default digest" in news.units[0].page_content
    spec = parse_file(data_dir / "damageproto.txt.gz")
    assert spec.format == "text"
    assert spec.units[0].page_content.startswith("The DAMAGE Extension")


def test_content_over_the_size_limit_fails_once_the_limit_is_read():
    bomb = gzip.compress(b"a" * 3_000_000)  # 3 MB of text in a 3 KB file
    assert len(bomb) < 10_000
    with pytest.raises(IngestError) as caught:
        parse_bytes(bomb, "bomb.txt.gz", ParseLimits(max_bytes=1_000_000))
    assert caught.value.file == "bomb.txt.gz"
    assert caught.value.reason == "its gzip content is over the 0.95 MB limit for one file"
    # Within the limit the same content reads: it was the cap, not the file.
    assert parse_bytes(bomb, "bomb.txt.gz", ParseLimits(max_bytes=4_000_000)).units


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (gzip.compress(b"cut short text")[:-6], "gzip data that cannot be read: Compressed file "
                                                "ended before the end-of-stream marker"),
        (b"\x1f\x8bjunk" * 4, "gzip data that cannot be read: Unknown compression method"),
        (b"\xfd7zXZ\x00junk", "xz data that cannot be read:"),
    ],
)
def test_corrupt_or_cut_streams_name_the_file_and_why(data, reason):
    with pytest.raises(IngestError) as caught:
        parse_bytes(data, "broken.gz")
    assert caught.value.file == "broken.gz"
    assert caught.value.reason.startswith(reason)


def test_an_archive_of_files_is_no_document_and_says_so_under_its_own_name():
    member = b"README text"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("README")
        info.size = len(member)
        tar.addfile(info, io.BytesIO(member))
    with pytest.raises(NotADocumentError) as caught:
        parse_bytes(buffer.getvalue(), "bundle.tar.gz")
    assert caught.value.file == "bundle.tar.gz"
    assert caught.value.reason.startswith("its gzip content: unsupported file type .tar")
    assert caught.value.reason.endswith("this is binary data (not a supported document format)")


def test_compressed_empty_content_is_an_empty_file():
    with pytest.raises(IngestError, match="empty file"):
        parse_bytes(gzip.compress(b""), "empty.txt.gz")
