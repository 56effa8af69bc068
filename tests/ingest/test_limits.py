"""Output caps: locators cut to a sane length, and files that expand or split too far fail.

The parser process limits (time, memory) are in ``test_isolation.py``.
"""

from __future__ import annotations

import json

import pytest

from ingest import IngestError, ParseLimits, parse_bytes
from ingest.parsed import LOCATOR_MAX_CHARS, elide_middle
from tests.ingest.hostile_files import expansion_bomb_json


def _stored_chars(parsed) -> int:
    return sum(len(u.page_content) + sum(len(v) for v in u.metadata.values()
                                         if isinstance(v, str)) for u in parsed.units)


def test_elide_middle_keeps_the_start_and_the_end_that_names_the_field():
    path = "/" + "/".join(f"key{i:03d}" for i in range(200)) + "/price"
    short = elide_middle(path, 60)
    assert len(short) == 60
    assert short.startswith("/key000/")
    assert short.endswith("/key199/price")
    assert "…" in short
    assert elide_middle("/a/b", 60) == "/a/b"


def test_eliding_step_by_step_equals_eliding_the_whole_path():
    # Parsers build paths from their parent's (already cut) path: the result must not drift.
    keys = [f"k{i}" * 7 for i in range(100)]
    built = ""
    for key in keys:
        built = elide_middle(f"{built}/{key}", 80)
    assert built == elide_middle("/" + "/".join(keys), 80)


def test_expansion_bomb_fails_with_the_reason():
    data = expansion_bomb_json()  # 250 KB; ~1 GB of locators before they were cut
    with pytest.raises(IngestError) as caught:
        parse_bytes(data, "bomb.json")
    assert caught.value.file == "bomb.json"
    assert caught.value.reason.startswith("parsing expands the 0.24 MB file to more than ")
    assert "characters of text and locators" in caught.value.reason


def test_small_nested_file_with_long_keys_parses_with_short_locators():
    data = expansion_bomb_json(records=300)
    parsed = parse_bytes(data, "nested.json")
    last = parsed.units[-1]
    assert last.page_content == "a: 1"
    for unit in parsed.units:
        for value in unit.metadata.values():
            assert not isinstance(value, str) or len(value) <= LOCATOR_MAX_CHARS
    # The end of the pointer still says which record it is.
    assert last.metadata["locator"].endswith("/299")
    assert last.metadata["pointer"] == last.metadata["locator"]
    assert _stored_chars(parsed) < ParseLimits().max_text_chars(len(data))


def test_dotted_paths_inside_a_record_are_cut_too():
    inner: object = {"price": "12 EUR"}
    for level in range(40):
        inner = {f"{'x' * 200}{level}": inner}
    data = json.dumps({"items": [inner]}).encode()
    unit = parse_bytes(data, "deep.json").units[-1]
    line = unit.page_content.splitlines()[-1]
    assert len(line) <= LOCATOR_MAX_CHARS + len(": 12 EUR")
    assert line.endswith(".price: 12 EUR")


def test_xml_paths_of_long_deep_names_are_cut():
    names = [f"n{i}" + "q" * 400 for i in range(20)]
    xml = "".join(f"<{n}>" for n in names) + "<leaf>value one</leaf><leaf>value two</leaf>"
    xml += "".join(f"</{n}>" for n in reversed(names))
    parsed = parse_bytes(xml.encode(), "deep.xml")
    unit = parsed.units[-1]
    assert unit.page_content == "leaf: value one\nleaf: value two"
    assert all(len(v) <= LOCATOR_MAX_CHARS for v in unit.metadata.values() if isinstance(v, str))
    assert unit.metadata["xpath"].endswith("q" * 50)


def test_heading_paths_are_cut_and_a_file_of_them_fails_the_text_cap():
    title = "Chapter " + "word " * 20_000  # one 100 KB heading above every section
    sections = "".join(f"## s{i}\n\ntext {i}\n\n" for i in range(8000))
    data = f"# {title}\n\nintro\n\n{sections}".encode()
    parsed = parse_bytes(data, "headings.md", ParseLimits(max_text_ratio=1000))
    assert parsed.units[-1].metadata["section"].endswith("> s7999")
    assert all(len(u.metadata["section"]) <= LOCATOR_MAX_CHARS for u in parsed.units)
    with pytest.raises(IngestError, match="parsing expands the"):
        parse_bytes(data, "headings.md", ParseLimits(max_text_base_chars=100_000))


def test_too_many_units_fail_with_the_limit_named():
    data = "\n".join(json.dumps({"n": f"record {i}"}) for i in range(2500)).encode()
    with pytest.raises(IngestError) as caught:
        parse_bytes(data, "many.jsonl", ParseLimits(max_units=2000))
    assert caught.value.reason == ("the file has more than 2,000 units (pages, sections or "
                                   "records), the limit per file")
    assert len(parse_bytes(data, "many.jsonl", ParseLimits(max_units=2500)).units) == 2500


def test_units_cap_in_html_is_checked_after_the_parse():
    html = "<html><body>" + "".join(f"<h2>H{i}</h2><p>para {i}</p>" for i in range(50))
    with pytest.raises(IngestError, match="more than 20 units"):
        parse_bytes(f"{html}</body></html>".encode(), "many.html", ParseLimits(max_units=20))
