"""The OCR benchmark's own parts: the error count, and the scanned copies it ingests."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium

from bench.ocr_quality import aligned_edit_distance, levenshtein, normalise, scanned_copy
from ingest import parse_bytes
from ingest.ocr import OcrOptions

DATA = Path(__file__).resolve().parents[1] / "data"


def test_edit_distances():
    assert levenshtein("kitten", "sitting") == 3
    assert aligned_edit_distance("the lamp is lit", "the lamp is lit") == 0
    assert aligned_edit_distance("the lamp is lit at dusk", "the Iamp is lit at dusk") == 1
    # Never below the exact distance: the alignment can only count more.
    reference, read = "one two three four", "one tw0 three fuor extra"
    assert aligned_edit_distance(reference, read) >= levenshtein(reference, read)


def test_normalise_unifies_ligatures_quotes_and_spaces():
    assert normalise("“ﬁne”  –\n‘x’") == "\"fine\" - 'x'"


def test_a_scanned_copy_has_no_text_layer_on_its_scanned_pages_and_reads_back_by_ocr():
    copy = scanned_copy(DATA / "sample.pdf", {2})
    document = pdfium.PdfDocument(copy)
    texts = [document[i].get_textpage().get_text_range().strip() for i in range(len(document))]
    assert len(texts) == 4 and texts[1] == "" and "Time Machine" in texts[0]

    parsed = parse_bytes(copy, "sample.pdf", ocr=OcrOptions())
    page_two = next(u for u in parsed.units if u.metadata["page"] == 2)
    assert page_two.metadata["ocr"] is True
    assert "1.21 gigawatts" in page_two.page_content
