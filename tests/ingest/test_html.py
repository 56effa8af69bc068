"""HTML sections follow the heading tree; boilerplate is dropped; encodings never crash."""

import codecs

import pytest

from ingest import IngestError, parse_file
from ingest.html import parse_html


@pytest.fixture
def guide(data_dir):
    return parse_file(data_dir / "guide.html")


def _prose(parsed):
    return [unit for unit in parsed.units if "record" not in unit.metadata]  # not table rows


def test_heading_paths_anchors_and_locators_are_exact(guide):
    assert [unit.metadata["locator"] for unit in _prose(guide)] == [
        "Install#install",
        "Install > Linux#linux",  # id of the enclosing <section>
        "Install > Windows#windows",
        "Install > Windows > Troubleshooting",  # no id anywhere up the tree
        "Usage",
    ]
    linux = _prose(guide)[1]
    assert linux.metadata["section"] == "Install > Linux"
    assert linux.metadata["anchor"] == "linux"
    assert "sudo apt install timemachine" in linux.page_content
    assert _prose(guide)[3].metadata["anchor"] == ""


def test_boilerplate_is_dropped(guide):
    everything = "\n".join(unit.page_content for unit in guide.units)
    for chrome in ("cookies", "Breadcrumbs", "Site header", "Docs", "tracking pixel",
                   "font-family", "Hoverboards", "Copyright", "Search the site"):
        assert chrome not in everything


def test_tables_become_header_value_rows(guide):
    rows = [unit for unit in guide.units if "record" in unit.metadata]
    assert [row.page_content for row in rows] == [
        "Distro: Debian | Command: apt install timemachine",
        "Distro: Fedora | Command: dnf install timemachine",
    ]
    # Rows follow the prose of their section, which no longer holds them.
    assert guide.units.index(rows[0]) == 2
    assert "Distro" not in _prose(guide)[1].page_content


def test_list_items_are_separate_lines(guide):
    assert guide.units[-1].page_content == (
        "Usage\n\nSet the destination date.\nAccelerate to 88 mph."
    )


def test_title_from_title_tag_else_h1_else_stem(guide, limits):
    assert guide.title == "Time Machine Guide"
    assert parse_html(b"<h1>Only heading</h1><p>x</p>", "a.html", limits).title == "Only heading"
    assert parse_html(b"<p>just text</p>", "dir/plain page.html", limits).title == "plain page"
    # A <title> in the body titles an inline SVG or a section, not the page.
    svg = b"<body><svg><title>Arrow icon</title></svg><p>Kiln rules</p></body>"
    assert parse_html(svg, "kiln.html", limits).title == "kiln"


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


# A DocBook-style page: the table's id is on a wrapper, its title in ``summary``; the
# section opens with a table of contents; "Prev | Next" bars are chrome.
KILN_PAGE = b"""<html><head><title>4.2. Kiln Types</title></head><body>
<div class="navheader"><table summary="Navigation header"><tr><th>4.2. Kiln Types</th></tr>
<tr><td><a href="a.html">Prev</a></td><td><a href="c.html">Next</a></td></tr></table></div>
<div class="sect1" id="KILN-TYPES"><h2>4.2. Kiln Types</h2>
<div class="toc"><dl class="toc"><dt><a href="#ELECTRIC">4.2.1. Electric Kilns</a></dt>
<dt><a href="#GAS">4.2.2. Gas Kilns</a></dt></dl></div>
<p>Kilns differ in how hot they get and how fast they cool down.</p>
<div class="table" id="KILN-TABLE"><p class="title">Table 4.3. Kiln Ranges</p>
<div class="table-contents"><table summary="Kiln Ranges"><thead>
<tr><th>Kind</th><th>Fuel</th><th>Top temperature</th></tr></thead><tbody>
<tr><td>electric</td><td>mains power</td><td>1300 C</td></tr>
<tr id="KILN-GAS-ROW"><td>gas</td><td>propane</td><td>1400 C</td></tr>
</tbody></table></div></div>
<p>Wood kilns are described elsewhere.</p>
<div class="sect2" id="ELECTRIC"><h3>4.2.1. Electric Kilns</h3><p>Plug it in.</p></div>
</div>
<div class="navfooter"><a href="a.html">Prev</a> | <a href="c.html">Next</a></div>
</body></html>"""


@pytest.fixture
def kiln(limits):
    return parse_html(KILN_PAGE, "kiln-types.html", limits)


def test_table_rows_are_records_with_the_caption_and_per_row_locators(kiln):
    rows = [unit for unit in kiln.units if "record" in unit.metadata]
    assert [row.page_content for row in rows] == [
        "Kind: electric | Fuel: mains power | Top temperature: 1300 C",
        "Kind: gas | Fuel: propane | Top temperature: 1400 C",
    ]
    assert {row.metadata["context"] for row in rows} == {"4.2. Kiln Types › Kiln Ranges"}
    assert [row.metadata["record"] for row in rows] == ["Kind: electric", "Kind: gas"]
    assert all(row.metadata["section"] == "4.2. Kiln Types" for row in rows)
    # The table's id on its wrapper, a row's own id when it has one.
    assert [row.metadata["locator"] for row in rows] == [
        "4.2. Kiln Types#KILN-TABLE", "4.2. Kiln Types#KILN-GAS-ROW"]


def test_a_table_of_contents_is_not_glued_to_the_prose(kiln):
    prose = _prose(kiln)
    toc = [u for u in prose if "Electric Kilns" in u.page_content and "Gas" in u.page_content]
    assert [u.page_content for u in toc] == ["4.2.1. Electric Kilns\n4.2.2. Gas Kilns"]
    opening = next(u for u in prose if "Kilns differ" in u.page_content)
    assert opening.page_content.startswith("4.2. Kiln Types\n\nKilns differ")
    assert "4.2.1" not in opening.page_content
    # Prose after the table is still in the section; a list with text is not a link list.
    assert any(u.page_content.endswith("Wood kilns are described elsewhere.") for u in prose)


def test_a_list_with_words_beside_its_links_stays_in_the_prose(limits):
    html = (b"<h1 id='a'>A</h1><p>Intro.</p><ul><li><a href='#x'>x</a> heats the glaze "
            b"evenly</li><li><a href='#y'>y</a> cools it slowly</li></ul>")
    units = parse_html(html, "l.html", limits).units
    assert len(units) == 1
    assert "Intro." in units[0].page_content and "cools it slowly" in units[0].page_content


def test_prev_next_bars_are_chrome(kiln):
    text = "\n".join(unit.page_content for unit in kiln.units)
    assert "Prev" not in text and "Next" not in text


def test_an_index_anchor_followed_by_text_does_not_become_the_next_headings_id(limits):
    # DocBook puts empty index anchors in the text; only one right before a heading cites it.
    html = (b"<div id='a'><h2>A</h2><p>width<a id='idx-9'></a> of a kiln.</p></div>"
            b"<div id='b'><h2>B</h2><p>Text of B.</p></div>"
            b"<span id='c-target'></span><h2>C</h2><p>Text of C.</p>")
    units = parse_html(html, "a.html", limits).units
    assert [u.metadata["locator"] for u in units] == ["A#a", "B#b", "C#c-target"]


def test_the_page_layouts_sidebar_is_chrome_but_a_sidebar_box_in_the_text_is_not(limits):
    html = (b"<h2 id='g'>Glazes</h2><p>Dip the pot.</p>"
            b"<div class='sidebar'><p>Box: wax the foot first.</p></div>"
            b"<div id='sidebar'><h3>Last update:</h3><p>Nov 11, 2026</p></div>"
            b"<div role='complementary'><p>Related pages</p></div>")
    units = parse_html(html, "g.html", limits).units
    assert [u.page_content for u in units] == [
        "Glazes\n\nDip the pot.\n\nBox: wax the foot first."]


def test_a_table_without_a_header_row_stays_text(limits):
    html = b"<h1>Thanks</h1><table><tr><td>Ada</td><td>Grace</td></tr></table>"
    units = parse_html(html, "t.html", limits).units
    assert [u.page_content for u in units] == ["Thanks\n\nAda | Grace"]


def test_a_link_target_whose_id_says_cookie_still_cites_its_heading(limits):
    html = (b"<div class='section' id='s-session-cookie-age'>"
            b"<span id='std-setting-SESSION_COOKIE_AGE'></span><h3>SESSION_COOKIE_AGE</h3>"
            b"<p>Default: 1209600</p></div>")
    unit = parse_html(html, "settings.html", limits).units[0]
    assert unit.metadata["anchor"] == "std-setting-SESSION_COOKIE_AGE"


def test_a_note_box_heading_does_not_take_over_the_section(limits):
    html = (b"<div id='s1'><h2>Kilns</h2><p>Kilns are hot.</p>"
            b"<div class='note'><h3 class='title'>Note</h3><p>Wear gloves.</p></div>"
            b"<p>Cones measure heat work.</p></div>")
    units = parse_html(html, "n.html", limits).units
    assert [u.metadata["locator"] for u in units] == ["Kilns#s1"]
    assert units[0].page_content == (
        "Kilns\n\nKilns are hot.\n\nNote\n\nWear gloves.\n\nCones measure heat work.")
