"""The realdocs comparison scores both pipelines' ranked passages with the same rule."""

import json

from bench.realdocs import render, score
from rag.eval.realdocs import answerable, load_realdocs


def _folder(tmp_path):
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "kiln.pdf").write_bytes(b"%PDF-1.4 placeholder")
    lines = [
        {"id": "p1", "question": "How long does the bisque firing hold?", "answer": "two hours",
         "answer_aliases": [], "file": "kiln.pdf", "format": "pdf", "locator": {"page": 3},
         "evidence": "holds for two hours", "unanswerable": False, "follow_up_of": None},
        {"id": "p2", "question": "When may the lid open?", "answer": "below 200 degrees",
         "answer_aliases": [], "file": "kiln.pdf", "format": "pdf", "locator": {"page": 4},
         "evidence": "open the lid below 200 degrees", "unanswerable": False,
         "follow_up_of": None},
    ]
    (tmp_path / "questions.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return load_realdocs(tmp_path)


def _row(text, page, source="kiln.pdf"):
    return {"text": text, "meta": {"source": source, "page": page}}


def test_recall_and_locator_per_format(tmp_path):
    data = _folder(tmp_path)
    ranked = [
        [_row("It holds for two hours at peak.", 3)],  # right passage, right page: rank 1
        [_row("Unrelated text.", 1), _row("x", 1), _row("y", 1), _row("z", 1), _row("w", 1),
         _row("Open the lid below 200 degrees.", 9)],  # right text at rank 6, wrong page
    ]
    table = score(answerable(data.items), ranked, data.documents)
    assert table["all"]["n"] == 2 == table["pdf"]["n"]
    assert table["all"]["R@1"] == 0.5 and table["all"]["R@5"] == 0.5
    assert table["all"]["R@10"] == 1.0
    assert table["all"]["locator_ok"] == 0.5  # page 9 is not the gold page 4


def test_a_passage_from_another_file_never_counts(tmp_path):
    data = _folder(tmp_path)
    ranked = [[_row("holds for two hours", 3, source="other.pdf")], []]
    assert score(answerable(data.items), ranked, data.documents)["all"]["R@10"] == 0.0


def test_render_puts_both_pipelines_side_by_side():
    table = {"all": {"n": 2, "R@1": 0.5, "R@5": 1.0, "R@10": 1.0, "locator_ok": 1.0},
             "pdf": {"n": 2, "R@1": 0.5, "R@5": 1.0, "R@10": 1.0, "locator_ok": 1.0},
             "p50_ms": 12.0}
    result = {"root": "realdocs", "questions": 2, "notes": [],
              "ingest": {"files": 3, "chunks": 10, "wall_s": 50.0, "peak_rss_mb": 900.0,
                         "statuses": {"ingested": 3}, "seconds": 40.0},
              "reingest": {"wall_s": 6.0, "seconds": 0.4, "embedded": 0},
              "tutorial": {"files": 3, "chunks": 8, "wall_s": 100.0, "peak_rss_mb": 950.0,
                           "failed": []},
              "retrieval": {"hybrid": table, "tutorial (dense)": table}}
    text = render(result)
    assert "ours / tutorial: wall 0.50 x, chunks 1.25 x" in text
    assert "re-ingest unchanged" in text and "1.00%" in text
    assert "tutorial (dense)" in text and "R@5 pdf" in text
