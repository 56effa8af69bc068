"""Manual pages: real Debian pages (gzip-compressed, as installed) and small hand-written ones
for each kind of markup."""

from __future__ import annotations

import gzip
import time

import pytest

from ingest import parse_file
from ingest.errors import IngestError
from ingest.limits import ParseLimits
from ingest.manpage import parse_manpage, plain_text
from ingest.ocr import OcrOptions
from ingest.registry import detect_format

LIMITS = ParseLimits()


def sections(parsed) -> dict[str, str]:
    return {unit.metadata["locator"]: unit.page_content for unit in parsed.units}


def test_a_docbook_generated_page_reads_as_its_reader_sees_it(data_dir):
    parsed = parse_file(data_dir / "chage.1.gz", ocr=OcrOptions())
    assert parsed.format == "manpage"
    assert parsed.title == "chage - change user password expiry information"
    by_section = sections(parsed)
    assert {"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS"} <= set(by_section)
    # DocBook puts each inline word on a line of its own; the sentence is one line again.
    assert "The chage command changes the number of days between password changes" \
        in by_section["DESCRIPTION"]
    assert "-d, --lastday LAST_DAY" in by_section["OPTIONS"]
    for text in by_section.values():
        assert "\\f" not in text and "\\-" not in text and "\\&" not in text
        assert not any(line.startswith((".", "'")) for line in text.split("\n"))


def test_a_help2man_page_keeps_its_options_and_examples(data_dir):
    parsed = parse_file(data_dir / "chown.1.gz", ocr=OcrOptions())
    by_section = sections(parsed)
    assert parsed.title == "chown - change file owner and group"
    assert "-c, --changes like verbose but report only when a change is made" \
        in by_section["OPTIONS"]
    assert 'chown root /u Change the owner of /u to "root".' in by_section["EXAMPLES"]


def test_a_page_is_recognised_by_its_content_whatever_its_name(data_dir):
    head = gzip.decompress((data_dir / "chage.1.gz").read_bytes())[:2048]
    assert detect_format("chage.1", head) == "manpage"
    assert detect_format("chage", head) == "manpage"
    # A known extension still decides, and text that only mentions a request is text.
    assert detect_format("chage.txt", head) == "text"
    assert detect_format("notes", b"How to write a page:\n.TH NAME 1\n") == "text"
    assert detect_format("dotfiles", b".bashrc\n.profile\n.vimrc\n") == "text"
    # A generator's long preamble (comments, macro definitions) can push .TH past the first
    # kilobytes: a troff comment opening the file says enough. BSD's mdoc is another format.
    preamble = b'.\\" Man page generated from reStructuredText.\n' + b".de1 X\n\\$1\n..\n" * 300
    assert detect_format("tool.1", preamble + b".TH TOOL 1\n") == "manpage"
    assert detect_format("ls.1", b'.\\" c\n.Dd May 2020\n.Dt LS 1\n.Sh NAME\n') == "text"


PAGE = r""".\" A comment line, then the page.
.de XX
.SH "NOT A SECTION"
..
.TH DEMO 8 "2026" "demo 1.0"
.SH NAME
demo \- show every kind of markup
.SH
OPTIONS
.TP
.BR \-\-mode " " fast
Pick the mode\(emfast is the default.  \" a comment at the end of a line
.SS "Exit status"
.IP \(bu 2
Zero on success; caf\[u00E9] is \fIok\fP\s-1\h'1n'.
.SH EXAMPLES
.nf
demo \-\-mode fast
  demo \-\-mode slow
.fi
See
.BR ls (1)
and the user\*(Aqs guide.
"""


def test_each_kind_of_markup_becomes_the_text_it_draws():
    parsed = parse_manpage(PAGE.encode(), "demo.8", LIMITS)
    by_section = sections(parsed)
    assert parsed.title == "demo - show every kind of markup"
    assert list(by_section) == ["NAME", "OPTIONS", "OPTIONS > Exit status", "EXAMPLES"]
    # A tag and its text fill one line, as the real pages above read ("-c, --changes like").
    assert by_section["OPTIONS"] == "OPTIONS\n--mode fast Pick the mode—fast is the default."
    assert by_section["OPTIONS > Exit status"] == "Exit status\n• Zero on success; café is ok."
    # No-fill text keeps its lines; filled text after .fi is one paragraph; a macro's
    # definition is not text.
    assert by_section["EXAMPLES"] == (
        "EXAMPLES\ndemo --mode fast\n  demo --mode slow\nSee ls(1) and the user's guide.")
    assert "NOT A SECTION" not in "".join(by_section.values())


def test_a_page_without_text_fails_with_the_reason():
    with pytest.raises(IngestError, match="no text to index"):
        parse_manpage(b'.TH EMPTY 1\n.\\" nothing else\n.SH NAME\n', "empty.1", LIMITS)


def test_escapes_are_read_in_one_pass():
    for line in ("\\" * 200_000, "\\(" * 100_000, "\\[" + "a" * 200_000, "\\h'" * 100_000):
        start = time.perf_counter()
        plain_text(line)
        assert time.perf_counter() - start < 5  # milliseconds: each character read once
