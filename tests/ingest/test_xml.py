"""XML record elements get exact XPath locators; attributes and namespaces are handled."""

import pytest

from ingest import IngestError, ParseLimits, parse_file
from ingest.errors import NotWellFormedError
from ingest.xml import parse_xml


@pytest.fixture
def catalog(data_dir):
    return parse_file(data_dir / "catalog.xml")


def test_xpaths_are_exact_and_positional_only_for_repeated_tags(catalog):
    assert [unit.metadata["xpath"] for unit in catalog.units] == [
        "/catalog",  # the root's own leaf child <title>
        "/catalog/book[1]",
        "/catalog/book[2]",
        "/catalog/magazine",
        "/catalog/magazine/issues",
    ]
    assert all(unit.metadata["locator"] == unit.metadata["xpath"] for unit in catalog.units)


def test_record_text_has_tags_and_attributes(catalog):
    assert catalog.units[2].page_content == (
        "@id: bk102\nauthor: Brown, Emmett\ntitle: Flux Capacitor Handbook\n"
        "price [currency=USD]: 1.21"  # a leaf's attributes stay on its own line
    )
    assert catalog.units[4].page_content == "issue: November 1955\nissue: October 1985"


def test_namespaces_become_local_names(catalog):
    assert catalog.title == "Hill Valley Library"
    assert all("{" not in unit.metadata["xpath"] + unit.page_content for unit in catalog.units)


def test_namespaced_siblings_with_same_local_name_are_numbered(limits):
    xml = b'<r xmlns:a="urn:a" xmlns:b="urn:b"><a:x><v>1</v></a:x><b:x><v>2</v></b:x></r>'
    assert [u.metadata["xpath"] for u in parse_xml(xml, "n.xml", limits).units] == [
        "/r/x[1]", "/r/x[2]",
    ]


def test_internal_dtd_without_entities_is_fine(data_dir):
    parsed = parse_file(data_dir / "with_dtd.xml")
    assert parsed.units[0].page_content == (
        "note [priority=high]: Buy plutonium from the Libyans\n"
        "note: Fix the clock tower cable"
    )


def test_mixed_content_reads_as_flowing_text(limits):
    xml = b"<doc><p>Hello <b>bold</b> world</p><p>Second <i>one</i>.</p></doc>"
    units = parse_xml(xml, "m.xml", limits).units
    assert [u.page_content for u in units] == ["Hello bold world", "Second one."]
    assert [u.metadata["xpath"] for u in units] == ["/doc/p[1]", "/doc/p[2]"]


def test_records_say_who_they_are_and_prose_takes_its_section_title(catalog, limits):
    book = catalog.units[2]
    assert book.metadata["record"] == "book [id=bk102] · title: Flux Capacitor Handbook"
    assert book.metadata["context"] == "Hill Valley Library"  # the root's title
    assert book.metadata["parent"] == "/catalog"
    xml = (b"<page><section><title>Cleaning</title><p>Wipe the <b>lens</b> dry.</p>"
           b"<list><item><p>Never use <b>solvents</b>.</p></item></list></section></page>")
    paragraphs = parse_xml(xml, "p.xml", limits).units[1:]
    assert [p.metadata["context"] for p in paragraphs] == ["Cleaning", "Cleaning"]
    assert paragraphs[0].metadata["parent"] == paragraphs[1].metadata["parent"]
    assert paragraphs[0].metadata["record"] == ""  # prose has no record identity


def test_leaf_root_is_one_unit(limits):
    parsed = parse_xml(b'<note lang="en">Remember the milk</note>', "note.xml", limits)
    assert [(u.metadata["xpath"], u.page_content) for u in parsed.units] == [
        ("/note", "@lang: en\nRemember the milk")
    ]


def test_malformed_xml_names_line_and_column(limits):
    with pytest.raises(IngestError) as caught:
        parse_xml(b"<r>\n  <a>\n</r>", "bad.xml", limits)
    assert caught.value.reason.startswith("not well-formed XML at line 3, column")
    assert isinstance(caught.value, NotWellFormedError)  # may be read another way


def test_long_text_node_is_refused():
    with pytest.raises(IngestError, match="longer than the limit of 10 characters"):
        parse_xml(b"<r><a>" + b"x" * 11 + b"</a></r>", "long.xml", ParseLimits(max_string_chars=10))


def test_deep_nesting_is_refused(limits):
    deep = b"<a>" * 1000 + b"x" + b"</a>" * 1000
    with pytest.raises(IngestError) as caught:
        parse_xml(deep, "deep.xml", limits)
    assert caught.value.reason == "XML nesting is deeper than 256 levels"
    assert not isinstance(caught.value, NotWellFormedError)  # a limit, never read otherwise


# --- forgiving: recovered XML and encodings libxml2 lacks, each with a warning ------------

def test_bare_ampersand_is_recovered_with_a_warning_naming_the_line(data_dir):
    parsed = parse_file(data_dir / "bare_ampersand.xml")
    assert parsed.units[0].page_content == "item: Kettle\nitem: Salt pepper mill\nitem: Teapot"
    assert len(parsed.warnings) == 1
    assert parsed.warnings[0].startswith("not well-formed XML recovered at line 4, column ")
    assert "xmlParseEntityRef" in parsed.warnings[0]  # libxml2's own message


def test_tag_left_open_at_the_end_is_recovered(limits):
    parsed = parse_xml(b"<r>\n<a>first</a>\n<b>second", "cut.xml", limits)
    assert parsed.units[0].page_content == "a: first\nb: second"
    assert parsed.warnings[0].startswith("not well-formed XML recovered at line 3")


def test_well_formed_xml_has_no_warnings(catalog):
    assert catalog.warnings == ()


def test_recovery_never_reads_external_entities_either(data_dir, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-9c1e")
    xxe = (f'<!DOCTYPE d [<!ENTITY s SYSTEM "{secret.as_uri()}">]><d><r>&s; & more</r></d>')
    parsed = parse_xml(xxe.encode(), "xxe.xml", ParseLimits())
    text = " ".join(unit.page_content for unit in parsed.units)
    assert "TOP-SECRET" not in text and "not read" in text and "more" in text
    assert any(w.startswith("not well-formed XML recovered") for w in parsed.warnings)
    laughs = (data_dir / "billion_laughs.xml").read_bytes().replace(b"&lol9;", b"&lol9; & x")
    with pytest.raises(IngestError) as caught:
        parse_xml(laughs, "billion_laughs.xml", ParseLimits())
    assert caught.value.reason.startswith("entity expansion refused")


def test_windows_1252_declaration_is_decoded_by_python(data_dir):
    parsed = parse_file(data_dir / "windows_1252.xml")
    assert parsed.units[0].page_content == "dish: Crème brûlée costs €5"


@pytest.mark.parametrize(
    ("label", "codec"),
    [("x-mac-roman", "mac_roman"), ("maclatin2", "mac_latin2"), ("ibm037", "cp037"),
     ("windows_1250", "cp1250")],
)
def test_encodings_libxml2_lacks(limits, label, codec):
    xml = f'<?xml version="1.0" encoding="{label}"?>\n<r><a>Dvořák café</a></r>'
    text = "Dvořák café" if codec in ("mac_latin2", "cp1250") else "Dvorak café"
    data = xml.replace("Dvořák café", text).encode(codec)
    parsed = parse_xml(data, "legacy.xml", limits)
    assert (parsed.units[0].page_content, parsed.warnings) == (f"a: {text}", ())


def test_declared_encoding_the_bytes_do_not_follow_is_detected(data_dir):
    parsed = parse_file(data_dir / "declared_utf8_is_cp1251.xml")
    assert parsed.units[0].page_content.startswith("entry: Маяк на мысе зажигают")
    assert parsed.warnings == (
        "declared encoding UTF-8 does not match the bytes (line 3: byte 0xcc invalid "
        "continuation byte); detected encoding cp1251 (charset-normalizer)",
    )


def test_legacy_label_on_utf8_bytes_reads_utf8(limits):
    data = '<?xml version="1.0" encoding="shift_jis"?><r>Ünïcödé straße</r>'.encode()
    parsed = parse_xml(data, "relabelled.xml", limits)
    assert parsed.units[0].page_content == "Ünïcödé straße"
    assert parsed.warnings == ("declared encoding shift_jis ignored: the bytes are UTF-8",)


def test_comments_are_read_as_text_with_their_lines(limits):
    xml = (b"<aliases><!--\n  Name      Metric twin\n  Quill     Arial\n  Pennant   Times\n-->"
           b"<alias><family>Quill</family></alias></aliases>")
    root = parse_xml(xml, "aliases.conf", limits).units[0]
    assert "Name  Metric twin\nQuill  Arial\nPennant  Times" in root.page_content
    assert root.metadata["xpath"] == "/aliases"


def test_a_short_record_keeps_its_nested_fields_in_one_unit():
    xml = b"""<config>
      <alias binding="same"><family>Arial</family>
        <accept><family>Liberation Sans</family></accept></alias>
      <alias binding="same"><family>Georgia</family>
        <default><family>serif</family></default></alias>
    </config>"""
    units = parse_xml(xml, "aliases.conf", ParseLimits()).units
    assert [u.metadata["xpath"] for u in units] == ["/config/alias[1]", "/config/alias[2]"]
    assert units[0].page_content == (
        "@binding: same\nfamily: Arial\naccept › family: Liberation Sans")
    assert units[1].page_content.endswith("default › family: serif")
    assert "Liberation" not in units[1].page_content  # never fields of two records


def test_nested_lists_wrappers_and_long_records_are_not_folded():
    lists = b"""<shelf><book id="b1"><title>Dune</title>
      <reviews><review>Great</review><review>Long</review></reviews></book></shelf>"""
    units = parse_xml(lists, "shelf.xml", ParseLimits()).units
    # The reviews are a list: their own unit, as before.
    assert [u.metadata["xpath"] for u in units] == ["/shelf/book", "/shelf/book/reviews"]
    wrapper = b"<root><data><item><name>x</name><note><text>y</text></note></item></data></root>"
    units = parse_xml(wrapper, "wrapped.xml", ParseLimits()).units
    # The record folds its field group; the wrappers above it, with nothing of their own, do not.
    assert [u.metadata["xpath"] for u in units] == ["/root/data/item"]
    assert units[0].page_content == "name: x\nnote › text: y"
    long_text = "word " * 120
    long = f"<r><item><name>x</name><note><text>{long_text}</text></note></item></r>".encode()
    units = parse_xml(long, "long.xml", ParseLimits()).units
    assert [u.metadata["xpath"] for u in units] == ["/r/item", "/r/item/note"]


def test_a_folded_field_group_keeps_its_comments():
    xml = b"<r><item><name>x</name><note><!-- kept as text --><text>y</text></note></item></r>"
    units = parse_xml(xml, "c.xml", ParseLimits()).units
    assert units[0].page_content == "name: x\nnote › kept as text\nnote › text: y"
