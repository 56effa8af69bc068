"""PDF pages become units with exact page locators; unreadable PDFs fail clearly."""

import pytest

from ingest import IngestError, ParseLimits, chunk_units, parse_file
from ingest.pdf import parse_pdf
from ingest.pdf_lines import VisualLine
from ingest.pdf_text import _block_text
from tests.data.make_test_files import (
    JUSTIFIED_LINES,
    OUTLINE_PAGES,
    RAGGED_TEXT,
    TABLE_ROWS,
    TERM_ROWS,
)
from tests.ingest.conftest import read


def test_one_unit_per_page_with_text_and_exact_locators(data_dir):
    parsed = parse_file(data_dir / "sample.pdf")
    assert parsed.format == "pdf"
    assert [unit.metadata["page"] for unit in parsed.units] == [1, 2, 4]  # page 3 is blank
    assert [unit.metadata["locator"] for unit in parsed.units] == ["page 1", "page 2", "page 4"]
    page_two = parsed.units[1]
    assert "The flux capacitor needs 1.21 gigawatts to operate." in page_two.page_content
    assert "flux" not in parsed.units[0].page_content


def test_chunk_of_page_two_says_page_two(data_dir):
    parsed = parse_file(data_dir / "sample.pdf")
    chunks = chunk_units(
        parsed, source="sample.pdf", doc_id="d1", length_function=lambda t: len(t.split()),
        chunk_tokens=50, overlap_tokens=5,
    )
    flux = [chunk for chunk in chunks if "gigawatts" in chunk.page_content]
    assert len(flux) == 1
    assert flux[0].metadata["page"] == 2
    assert flux[0].metadata["locator"] == "page 2"


def test_title_from_metadata_else_file_stem(data_dir):
    assert parse_file(data_dir / "sample.pdf").title == "Time Machine Manual"
    assert parse_file(data_dir / "no_title.pdf").title == "no_title"


def test_display_name_is_not_a_path(limits):
    parsed = parse_pdf(read("no_title.pdf"), "../../etc/secret report.pdf", limits)
    assert parsed.title == "secret report"


def test_encrypted_with_empty_user_password_opens(data_dir):
    parsed = parse_file(data_dir / "encrypted_empty_password.pdf")
    assert parsed.units[1].metadata["page"] == 2
    assert "1.21 gigawatts" in parsed.units[1].page_content


def test_encrypted_with_a_real_password_is_refused(data_dir):
    with pytest.raises(IngestError) as caught:
        parse_file(data_dir / "encrypted_password.pdf")
    assert caught.value.file == "encrypted_password.pdf"
    assert caught.value.reason == "encrypted PDF: a password is required"


def test_image_only_pdf_asks_for_ocr(data_dir):
    with pytest.raises(IngestError) as caught:
        parse_file(data_dir / "image_only.pdf")
    assert caught.value.reason == ("no text layer (image-only/scanned PDF); OCR is off "
                                   "(RAG_INGEST__OCR=true turns it on)")


def test_truncated_pdf_is_not_readable(data_dir):
    with pytest.raises(IngestError) as caught:
        parse_file(data_dir / "truncated.pdf")
    assert caught.value.reason.startswith("not a readable PDF (corrupt or truncated): ")


def test_bytes_without_pdf_header_are_refused(limits):
    with pytest.raises(IngestError, match="not a readable PDF"):
        parse_pdf(b"hello, I am not a PDF", "fake.pdf", limits)


def test_size_limit_is_checked_before_parsing():
    data = b"%PDF-1.7\n" + b"\0" * (3 * 1024 * 1024)
    with pytest.raises(IngestError) as caught:
        parse_pdf(data, "big.pdf", ParseLimits(max_bytes=2 * 1024 * 1024))
    assert caught.value.reason == "file is 3 MB, limit is 2 MB"


# Layout: wrapped lines become whole sentences; tables and term lists keep their lines.


def _layout_text(data_dir) -> str:
    (unit,) = parse_file(data_dir / "layout.pdf").units
    return unit.page_content


def test_wrapped_lines_of_a_paragraph_join_into_whole_sentences(data_dir):
    text = _layout_text(data_dir)
    paragraph = " ".join(JUSTIFIED_LINES).replace("regu- lar", "regular")
    assert paragraph in text.split("\n")
    assert "regu-" not in text


def test_ragged_right_paragraph_joins_too(data_dir):
    text = _layout_text(data_dir)
    assert RAGGED_TEXT in text.split("\n")


def test_paragraphs_stay_apart_by_a_blank_line(data_dir):
    blocks = _layout_text(data_dir).split("\n\n")
    assert blocks[0].startswith(JUSTIFIED_LINES[0])
    assert blocks[1] == RAGGED_TEXT


def test_table_rows_stay_one_line_each(data_dir):
    # Plain line breaks between the rows: a table is one block, not a paragraph per row.
    rows = "\n".join(" ".join(row) for row in TABLE_ROWS)
    assert f"\n\n{rows}\n\n" in _layout_text(data_dir)


def test_term_list_rows_are_not_glued_although_they_fill_the_column(data_dir):
    # The longest row ends where the column ends, as a wrapped line would: the wide blank
    # between term and description is what tells a table row.
    rows = "\n".join(f"{term} {description}" for term, description in TERM_ROWS)
    assert _layout_text(data_dir).endswith(f"\n\n{rows}")


def test_hyphen_at_a_line_end_is_kept_before_a_capital():
    assert _block_text([_line("the work of a Non", hyphen=True), _line("Maintainer upload")]) == (
        "the work of a Non-Maintainer upload"
    )
    assert _block_text([_line("a regu", hyphen=True), _line("lar hand")]) == "a regular hand"


def _line(text: str, hyphen: bool = False) -> VisualLine:
    return VisualLine(text, 0.0, 0.0, 0.0, 10.0, hyphen, 0, len(text))


# Sections from the outline (bookmarks).


def test_each_page_gets_the_outline_path_it_falls_under(data_dir):
    units = parse_file(data_dir / "outline.pdf").units
    assert [unit.metadata.get("section") for unit in units[:4]] == [
        None,  # before the first outline entry: no section key at all
        "Getting started",
        "Getting started > Installing the lamp",
        "Getting started > Installing the lamp",  # no entry of its own: the last one goes on
    ]
    assert "section" not in units[0].metadata
    assert [unit.metadata["locator"] for unit in units] == [f"page {n}" for n in range(1, 6)]
    assert [unit.metadata["page"] for unit in units] == [1, 2, 3, 4, 5]


def test_a_long_section_path_keeps_its_deepest_levels(data_dir):
    section = parse_file(data_dir / "outline.pdf").units[4].metadata["section"]
    deepest = OUTLINE_PAGES[4][1][0]
    assert section == deepest
    assert len("Maintenance > " + deepest) > 120 >= len(section)


def test_pdf_without_an_outline_has_no_section(data_dir):
    assert all("section" not in unit.metadata for unit in parse_file(data_dir / "sample.pdf").units)
