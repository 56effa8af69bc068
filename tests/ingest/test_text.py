"""Plain text is one unit; Markdown sections follow ATX and setext headings."""

import pytest

from ingest import IngestError, parse_file
from ingest.text import parse_markdown, parse_text


@pytest.fixture
def guide(data_dir):
    return parse_file(data_dir / "guide.md")


def test_markdown_section_paths(guide):
    assert [unit.metadata["section"] for unit in guide.units] == [
        "Install",
        "Install > Linux",
        "Install > Windows",  # setext "-----" is level 2
        "Install > Windows > Troubleshooting",  # closing hashes are not part of the title
        "Usage",  # setext "=====" is level 1
    ]
    assert all(unit.metadata["locator"] == unit.metadata["section"] for unit in guide.units)
    assert guide.title == "Install"


def test_fenced_code_is_kept_and_not_read_as_headings(guide):
    linux = guide.units[1].page_content
    assert "```sh\n# this line is code, not a heading\nsudo apt install timemachine\n```" in linux


def test_front_matter_is_not_a_setext_heading(limits):
    parsed = parse_markdown(b"---\ntitle: x\n---\nIntro.\n\n# A\nBody\n", "f.md", limits)
    assert [unit.metadata["section"] for unit in parsed.units] == ["", "A"]
    assert parsed.units[0].page_content == "---\ntitle: x\n---\nIntro."


def test_thematic_break_after_blank_line_is_not_a_heading(limits):
    parsed = parse_markdown(b"Para one.\n\n---\n\nPara two.\n", "t.md", limits)
    assert [unit.metadata["section"] for unit in parsed.units] == [""]


def test_list_item_over_dashes_is_not_a_heading(limits):
    parsed = parse_markdown(b"# T\n- item\n---\n", "l.md", limits)
    assert [unit.metadata["section"] for unit in parsed.units] == ["T"]


def test_plain_text_is_one_unit_with_paragraphs_kept(data_dir):
    parsed = parse_file(data_dir / "notes.txt")
    assert parsed.format == "text"
    assert parsed.title == "notes"
    assert len(parsed.units) == 1
    assert parsed.units[0].metadata == {"locator": "", "section": ""}
    assert "\n\nAction items: buy cable" in parsed.units[0].page_content


def test_cp1252_text_and_crlf(limits):
    parsed = parse_text("Crème brûlée\r\ncosts €5\r\n".encode("cp1252"), "menu.txt", limits)
    assert parsed.units[0].page_content == "Crème brûlée\ncosts €5"


def test_blank_text_is_refused(limits):
    with pytest.raises(IngestError) as caught:
        parse_text(b" \n\n\t\n", "blank.txt", limits)
    assert caught.value.reason == "no text to index (the file is blank)"
