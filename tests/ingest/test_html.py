"""HTML sections follow the heading tree; boilerplate is dropped; encodings never crash."""

import codecs

import pytest

from ingest import IngestError, parse_file
from ingest.html import parse_html


@pytest.fixture
def guide(data_dir):
    return parse_file(data_dir / "guide.html")


def test_heading_paths_anchors_and_locators_are_exact(guide):
    assert [unit.metadata["locator"] for unit in guide.units] == [
        "Install#install",
        "Install > Linux#linux",  # id of the enclosing <section>
        "Install > Windows#windows",
        "Install > Windows > Troubleshooting",  # no id anywhere up the tree
        "Usage",
    ]
    linux = guide.units[1]
    assert linux.metadata["section"] == "Install > Linux"
    assert linux.metadata["anchor"] == "linux"
    assert "sudo apt install timemachine" in linux.page_content
    assert guide.units[3].metadata["anchor"] == ""


def test_boilerplate_is_dropped(guide):
    everything = "\n".join(unit.page_content for unit in guide.units)
    for chrome in ("cookies", "Breadcrumbs", "Site header", "Docs", "tracking pixel",
                   "font-family", "Hoverboards", "Copyright", "Search the site"):
        assert chrome not in everything


def test_tables_become_header_value_rows(guide):
    lines = guide.units[1].page_content.split("\n")
    assert "Distro: Debian | Command: apt install timemachine" in lines
    assert "Distro: Fedora | Command: dnf install timemachine" in lines


def test_list_items_are_separate_lines(guide):
    assert guide.units[-1].page_content == (
        "Usage\n\nSet the destination date.\nAccelerate to 88 mph."
    )


def test_title_from_title_tag_else_h1_else_stem(guide, limits):
    assert guide.title == "Time Machine Guide"
    assert parse_html(b"<h1>Only heading</h1><p>x</p>", "a.html", limits).title == "Only heading"
    assert parse_html(b"<p>just text</p>", "dir/plain page.html", limits).title == "plain page"


def test_text_before_the_first_heading_has_an_empty_section(limits):
    parsed = parse_html(b"<p>Preamble</p><h1 id='a'>A</h1><p>Body</p>", "p.html", limits)
    assert [(u.metadata["section"], u.metadata["locator"]) for u in parsed.units] == [
        ("", ""),
        ("A", "A#a"),
    ]


def test_headings_without_body_do_not_make_empty_units(limits):
    parsed = parse_html(b"<h1>A</h1><h2>B</h2><p>text</p>", "h.html", limits)
    assert [unit.metadata["locator"] for unit in parsed.units] == ["A > B"]


def test_preformatted_text_keeps_its_line_breaks(limits):
    # Line breaks survive (inline text would collapse them); indentation is tidied away.
    html = b"<h1>Code</h1><pre>line one\n    indented two</pre>"
    assert parse_html(html, "c.html", limits).units[0].page_content == (
        "Code\n\nline one\nindented two"
    )


def test_cp1252_without_declaration_falls_back(data_dir):
    parsed = parse_file(data_dir / "cp1252.html")
    assert parsed.title == "Café menu"
    assert "Crème brûlée for €5" in parsed.units[0].page_content


def test_mixed_utf8_and_cp1252_bytes_both_decode(data_dir):
    text = parse_file(data_dir / "mixed_encoding.html").units[0].page_content
    assert "UTF-8 part: naïve résumé" in text
    assert "cp1252 part: façade “quoted”" in text


def test_meta_charset_is_honoured(limits):
    html = '<meta charset="koi8-r"><h1>Привет</h1><p>мир</p>'.encode("koi8-r")
    assert parse_html(html, "ru.html", limits).units[0].page_content == "Привет\n\nмир"


def test_utf16_with_bom(limits):
    html = codecs.BOM_UTF16_LE + "<h1>Grüße</h1><p>aus Köln</p>".encode("utf-16-le")
    assert parse_html(html, "de.html", limits).units[0].page_content == "Grüße\n\naus Köln"


def test_page_without_visible_text_is_refused(limits):
    with pytest.raises(IngestError, match="no text to index"):
        parse_html(b"<html><head><script>x()</script></head><body> </body></html>", "e.html",
                   limits)


def test_a_documented_section_about_cookies_is_content_not_a_banner(limits):
    html = (b"<html><body><div class='cookie-notice'>We use cookies. <button>OK</button></div>"
            b"<div class='section' id='s-session-cookie-age'><h3>SESSION_COOKIE_AGE</h3>"
            b"<p>Default: 1209600 (2 weeks, in seconds)</p></div></body></html>")
    text = " ".join(u.page_content for u in parse_html(html, "settings.html", limits).units)
    assert "1209600" in text
    assert "We use cookies" not in text


def test_a_heading_is_cited_by_the_last_link_target_before_it(limits):
    html = (b"<html><body><div class='section' id='s-kiln-temp'>"
            b"<span id='s-std-setting-KILN_TEMP'></span><span id='std-setting-KILN_TEMP'></span>"
            b"<h3>KILN_TEMP</h3><p>Default: 950</p></div>"
            b"<p id='figure-1'>A figure.</p><h3>No target</h3><p>Text.</p></body></html>")
    units = parse_html(html, "settings.html", limits).units
    assert units[0].metadata["anchor"] == "std-setting-KILN_TEMP"
    # An id met before an earlier heading is not carried over to a later one.
    assert units[-1].metadata["anchor"] == ""
