"""XML record elements get exact XPath locators; attributes and namespaces are handled."""

import pytest

from ingest import IngestError, ParseLimits, parse_file
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
        "price: 1.21\nprice/@currency: USD"
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
        "note: Buy plutonium from the Libyans\nnote/@priority: high\n"
        "note: Fix the clock tower cable"
    )


def test_mixed_content_keeps_text_between_children(limits):
    xml = b"<doc><p>Hello <b>bold</b> world</p></doc>"
    assert parse_xml(xml, "m.xml", limits).units[0].page_content == "Hello\nb: bold\nworld"


def test_leaf_root_is_one_unit(limits):
    parsed = parse_xml(b'<note lang="en">Remember the milk</note>', "note.xml", limits)
    assert [(u.metadata["xpath"], u.page_content) for u in parsed.units] == [
        ("/note", "@lang: en\nRemember the milk")
    ]


def test_malformed_xml_names_line_and_column(limits):
    with pytest.raises(IngestError) as caught:
        parse_xml(b"<r>\n  <a>\n</r>", "bad.xml", limits)
    assert caught.value.reason.startswith("not well-formed XML at line 3, column")


def test_long_text_node_is_refused():
    with pytest.raises(IngestError, match="longer than the limit of 10 characters"):
        parse_xml(b"<r><a>" + b"x" * 11 + b"</a></r>", "long.xml", ParseLimits(max_string_chars=10))


def test_deep_nesting_is_refused(limits):
    deep = b"<a>" * 1000 + b"x" + b"</a>" * 1000
    with pytest.raises(IngestError) as caught:
        parse_xml(deep, "deep.xml", limits)
    assert caught.value.reason == "XML nesting is deeper than 256 levels"
