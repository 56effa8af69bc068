"""Sources: a chunk packing several records cites the one the answer came from."""

from pathlib import Path

from ingest import chunk_units, parse_file
from rag.answer.context import Passage
from rag.answer.reply import sources_of, with_answer_span
from rag.retrieval.modes import RetrievedChunk

DATA = Path(__file__).resolve().parents[2] / "data"


def _packed_chunk():
    parsed = parse_file(DATA / "debian.csv")  # a real table: one record per row
    chunks = chunk_units(parsed, source="debian.csv", doc_id="d", chunk_tokens=256,
                         overlap_tokens=32, length_function=lambda text: len(text.split()) * 2)
    return next(c for c in chunks if "codename: Buster" in c.page_content
                and not c.page_content.startswith("version: 10\n"))


def test_the_answer_cites_its_own_record_not_the_chunks_first():
    doc = _packed_chunk()
    text = doc.page_content
    chunk = RetrievedChunk(doc, 1.0, 1, 1, 1, 0.8, 3.0)
    first = Passage(1, text[:text.index("\n")], 0.7, 0, text.index("\n"))
    start = text.index("version: 10\n")
    answer = Passage(1, text[start:text.index("\n\n", start)], 0.9, start,
                     text.index("\n\n", start))
    lines = (DATA / "debian.csv").read_text().splitlines()
    buster = next(n for n, line in enumerate(lines, start=1) if line.startswith("10,Buster,"))

    shown = sources_of([chunk], [first, answer])
    # Before an answer is chosen, the chunk is named by the first passage shown.
    assert shown[0].locator == doc.metadata["locator"] != f"line {buster}"
    cited = with_answer_span(shown, answer, [chunk])
    assert cited[0].locator == f"line {buster}"
    assert cited[0].answer_span == (answer.start, answer.end)
