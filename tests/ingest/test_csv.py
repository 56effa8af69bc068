"""CSV/TSV: a record per row, cells named by the header, the row's line as its locator."""

import pytest

from ingest import IngestError, ParseLimits, parse_bytes, parse_file


def test_a_real_release_table_is_one_record_per_row(data_dir):
    parsed = parse_file(data_dir / "debian.csv")
    assert parsed.format == "csv" and not parsed.warnings
    lines = (data_dir / "debian.csv").read_text().splitlines()
    assert len(parsed.units) == len(lines) - 1
    row = next(u for u in parsed.units if "codename: Buster" in u.page_content)
    # Each cell under its column's name; the row's own line is its locator; a name-like
    # column identifies it.
    assert "version: 10\ncodename: Buster" in row.page_content
    assert "release: 2019-07-06" in row.page_content
    number = row.metadata["line"]
    assert lines[number - 1].startswith("10,Buster,")
    assert row.metadata["locator"] == f"line {number}"
    assert row.metadata["record"] == "codename: Buster"
    # Rows written before a column existed simply lack it (no "eol-lts:" on the first row).
    assert "eol-lts" not in parsed.units[0].page_content


def test_tsv_quoted_cells_comments_and_rows_without_a_name():
    data = (b"\n# Source: the 2024 pump survey\n"
            b"Date\tSite\tNote\n"
            b"2024-03-01\t4\t\"hum, then\nstall\"\n"
            b"2024-03-02\t7\tfine\n")
    parsed = parse_bytes(data, "survey.tsv")
    assert parsed.format == "csv"
    preamble, first, second = parsed.units
    assert preamble.page_content == "# Source: the 2024 pump survey"
    assert preamble.metadata["line"] == 2
    # A quoted cell keeps its comma and line break (spaces collapsed); line numbers count the
    # comment and the broken cell.
    assert first.page_content == "Date: 2024-03-01\nSite: 4\nNote: hum, then stall"
    assert (first.metadata["line"], second.metadata["line"]) == (4, 6)
    # No name-like cell: the first column says which row it is.
    assert first.metadata["record"] == "Date: 2024-03-01"


def test_a_table_without_a_header_row_is_read_as_text_and_said():
    for data in (b"4,7,9\n5,8,1\n6,2,3\n", b"red,apple\nred,cherry\n", b"name,price\n"):
        parsed = parse_bytes(data, "rows.csv")
        first_line = data.decode().split("\n")[0]
        assert parsed.format == "text" and first_line in parsed.units[0].page_content
        assert any("no header row" in w for w in parsed.warnings)


def test_empty_rows_or_a_broken_file_are_an_error_naming_it():
    with pytest.raises(IngestError, match=r"empty\.csv: no rows below the header row"):
        parse_bytes(b"name,price\n,\n,\n", "empty.csv")
    big = b"name,note\nx," + b"y" * 200_000 + b"\n"
    with pytest.raises(IngestError, match=r"big.csv: CSV error in its first 50 rows: field larger"):
        parse_bytes(big, "big.csv", ParseLimits())
    late = b"name,note\n" + b"a,1\n" * 60 + b"x," + b"y" * 200_000 + b"\n"
    with pytest.raises(IngestError, match=r"late.csv: CSV error on line 62: field larger"):
        parse_bytes(late, "late.csv", ParseLimits())


def test_delimiter_and_header_are_found_in_one_pass_on_hostile_quotes():
    # csv.Sniffer's patterns took over 20 s on 64 KB of this; the reader reads it once. No row
    # splits evenly, no header: it is text.
    parsed = parse_bytes(b'"a,' * 21_000, "quotes.csv")
    assert parsed.format == "text"
    semicolons = parse_bytes("Land;Hauptstadt;Einwohner\nÖsterreich;Wien;9104772\n".encode(),
                             "laender.csv")
    assert semicolons.units[0].page_content == (
        "Land: Österreich\nHauptstadt: Wien\nEinwohner: 9104772")
