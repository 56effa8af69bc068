"""JSON records get exact RFC 6901 pointers; syntax and limit errors say where and why."""

import codecs
import json

import pytest

from ingest import IngestError, ParseLimits, parse_file
from ingest.json_ import parse_json, parse_jsonl, render_record


@pytest.fixture
def catalog(data_dir):
    return parse_file(data_dir / "catalog.json")


def test_array_records_get_pointers(catalog):
    assert [unit.metadata["pointer"] for unit in catalog.units] == [
        "", "/items/0", "/items/1", "/items/2", "/items/3", "/settings", "/a~1b~0c",
    ]
    assert all(unit.metadata["locator"] == unit.metadata["pointer"] for unit in catalog.units)


def test_record_text_is_key_value_lines(catalog):
    assert catalog.units[0].page_content == "catalog: Hill Valley Library\nupdated: 1985-10-26"
    item3 = catalog.units[4]
    assert item3.page_content == (
        "title: Time Travel for Beginners\nyear: 2015\n"
        "authors.0.name: E. Brown\nauthors.1.name: M. McFly"
    )
    publisher = "publisher.name: Hearst\npublisher.city: New York"
    assert catalog.units[2].page_content.endswith(publisher)
    assert "available: false" in catalog.units[3].page_content
    assert "tags: sports, statistics" in catalog.units[1].page_content


def test_render_record_skips_nulls_and_empty_containers():
    assert render_record({"a": None, "b": [], "c": {}, "d": 0, "e": [None, "x"]}) == "d: 0\ne: x"


def test_top_level_array_of_records(limits):
    data = json.dumps([{"q": "first"}, {"q": "second"}]).encode()
    parsed = parse_json(data, "list.json", limits)
    assert [(u.metadata["pointer"], u.page_content) for u in parsed.units] == [
        ("/0", "q: first"), ("/1", "q: second"),
    ]


def test_scalar_document_is_one_unit(limits):
    parsed = parse_json(b'"just a sentence"', "s.json", limits)
    assert [(u.metadata["pointer"], u.page_content) for u in parsed.units] == [
        ("", "just a sentence")
    ]


def test_jsonl_pointer_is_line_index_and_line_is_one_based(data_dir):
    parsed = parse_file(data_dir / "events.jsonl")
    assert [(u.metadata["pointer"], u.metadata["line"]) for u in parsed.units] == [
        ("/0", 1), ("/1", 2), ("/3", 4),  # line 3 is blank
    ]
    assert parsed.units[2].page_content.endswith("place.city: Hill Valley\nplace.state: CA")


def test_syntax_error_names_line_and_column(limits):
    with pytest.raises(IngestError) as caught:
        parse_json(b'{\n  "a": 1,\n  "b": }\n', "bad.json", limits)
    assert caught.value.reason == "invalid JSON at line 3, column 8: Expecting value"


def test_jsonl_syntax_error_names_the_file_line(limits):
    with pytest.raises(IngestError) as caught:
        parse_jsonl(b'{"a": 1}\n{"b": \n', "bad.jsonl", limits)
    assert caught.value.reason.startswith("invalid JSON at line 2, column")


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_json_constants_are_refused(limits, constant):
    with pytest.raises(IngestError, match="not valid JSON"):
        parse_json(b"[" + constant + b"]", "c.json", limits)


def test_depth_limit_is_exact(limits):
    small = ParseLimits(max_json_depth=5)
    assert parse_json(b'[[[[{"a": "ok"}]]]]', "five.json", small).units
    with pytest.raises(IngestError) as caught:
        parse_json(b'[[[[[{"a": "no"}]]]]]', "six.json", small)
    assert caught.value.reason == "JSON nesting is deeper than the limit of 5 levels"


def test_brackets_inside_strings_do_not_count_as_depth():
    small = ParseLimits(max_json_depth=2)
    parsed = parse_json(b'{"a": "[[[[{{{{ \\" ]]]"}', "s.json", small)
    assert parsed.units[0].page_content == 'a: [[[[{{{{ " ]]]'


def test_string_limit_counts_decoded_characters():
    tight = ParseLimits(max_string_chars=10)
    assert parse_json(b'{"a": "\\u0041\\u0042\\u0043"}', "ok.json", tight).units  # 3 chars
    with pytest.raises(IngestError) as caught:
        parse_json(b'{"a": "01234567890"}', "long.json", tight)
    assert caught.value.reason == "a JSON string is longer than the limit of 10 characters"


def test_utf16_with_bom_and_without(data_dir, limits):
    assert parse_file(data_dir / "utf16_bom.json").units[0].page_content == "greeting: héllo wörld"
    no_bom = '{"k": "v\u00e9"}'.encode("utf-16-be")
    assert parse_json(no_bom, "be.json", limits).units[0].page_content == "k: vé"
    utf32 = codecs.BOM_UTF32_LE + '["x"]'.encode("utf-32-le")
    assert parse_json(utf32, "32.json", limits).units[0].page_content == "x"


def test_utf8_bom_is_ignored(limits):
    assert parse_json(codecs.BOM_UTF8 + b'{"a": "b"}', "bom.json", limits).units


def test_latin1_json_names_the_encoding_problem(data_dir):
    with pytest.raises(IngestError) as caught:
        parse_file(data_dir / "latin1.json")
    assert caught.value.reason == (
        "not valid UTF-8 (byte 0xe9 at offset 13); JSON must be encoded as UTF-8, UTF-16 or UTF-32"
    )


def test_valid_json_without_text_is_refused_not_crashed(limits):
    with pytest.raises(IngestError) as caught:
        parse_json(b'{"a": [], "b": null, "c": ""}', "empty.json", limits)
    assert caught.value.reason.startswith("valid JSON but no text to index")
