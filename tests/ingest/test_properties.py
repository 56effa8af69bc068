"""Property tests: any bytes give a ParsedFile or an IngestError; valid inputs always parse."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from ingest import IngestError, ParsedFile, ParseLimits, chunk_units, parse_bytes
from ingest.json_ import parse_json
from ingest.registry import PARSERS
from ingest.xml import parse_xml

LIMITS = ParseLimits(max_seconds=30)
# Known openings push random bytes past each parser's first check into its deeper paths.
MAGIC = [b"", b"%PDF-1.4\n", b"<?xml version='1.0'?>", b"<!doctype html>", b"{", b"[",
         b"\xef\xbb\xbf", b"\xff\xfe", b"# "]


def _parse_or_refuse(parser, data: bytes, name: str) -> None:
    try:
        result = parser(data, name, LIMITS)
    except IngestError as error:
        assert error.file == name and error.reason
    else:
        assert isinstance(result, ParsedFile) and result.units


@pytest.mark.parametrize("fmt", sorted(PARSERS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from(MAGIC), body=st.binary(max_size=2000))
def test_random_bytes_never_crash_a_parser(fmt, prefix, body):
    _parse_or_refuse(PARSERS[fmt], prefix + body, f"random.{fmt}")


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(["a.pdf", "a.json", "a.xml", "a.html", "a.md", "a.bin", "a"]),
       prefix=st.sampled_from(MAGIC), body=st.binary(max_size=500))
def test_parse_bytes_only_raises_ingest_error(name, prefix, body):
    _parse_or_refuse(lambda data, n, _: parse_bytes(data, n, LIMITS), prefix + body, name)


JSON_SCALARS = (
    st.none() | st.booleans() | st.integers(-10**12, 10**12)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=40,
)


def _resolve(document, pointer: str):
    node = document
    for token in pointer.split("/")[1:]:
        key = token.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


@settings(max_examples=200, deadline=None)
@given(value=JSON_VALUES, ascii_only=st.booleans())
def test_random_json_parses_and_pointers_resolve(value, ascii_only):
    data = json.dumps(value, ensure_ascii=ascii_only).encode()
    try:
        parsed = parse_json(data, "random.json", LIMITS)
    except IngestError as error:  # only when nothing in it is text
        assert error.reason.startswith("valid JSON but no text to index")
        return
    for unit in parsed.units:
        assert unit.metadata["locator"] == unit.metadata["pointer"]
        _resolve(value, unit.metadata["pointer"])  # raises if the pointer is wrong
    chunks = chunk_units(parsed, source="r", doc_id="d", length_function=len,
                         chunk_tokens=64, overlap_tokens=8)
    assert [chunk.metadata["chunk_index"] for chunk in chunks] == list(range(len(chunks)))


TAGS = st.sampled_from(["item", "entry", "book", "row"])
FIELDS = st.lists(st.sampled_from(["name", "price", "note", "id"]), min_size=1, max_size=4)
TEXT = st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N"]), min_size=1,
               max_size=12)


@settings(max_examples=100, deadline=None)
@given(record_tag=TAGS, count=st.integers(1, 12), fields=FIELDS, texts=st.lists(TEXT, min_size=48,
       max_size=48), wrappers=st.lists(st.sampled_from(["data", "list", "group"]), max_size=4))
def test_random_xml_trees_give_one_unit_per_record(record_tag, count, fields, texts, wrappers):
    root = etree.Element("root")
    parent = root
    for wrapper in wrappers:
        parent = etree.SubElement(parent, wrapper)
    for index in range(count):
        record = etree.SubElement(parent, record_tag)
        for position, field in enumerate(fields):
            etree.SubElement(record, field).text = texts[(index * 4 + position) % len(texts)]
    parsed = parse_xml(etree.tostring(root, encoding="utf-8"), "tree.xml", LIMITS)
    base = "/" + "/".join(["root", *wrappers])
    expected = [f"{base}/{record_tag}[{i}]" for i in range(1, count + 1)] if count > 1 else [
        f"{base}/{record_tag}"
    ]
    assert [unit.metadata["xpath"] for unit in parsed.units] == expected
    first = parsed.units[0].page_content.split("\n")
    assert first[0] == f"{fields[0]}: {texts[0]}"
    assert len(first) == len(fields)
