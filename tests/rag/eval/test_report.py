import json
import math

from rag.eval.report import format_table, write_bar_chart, write_json


def test_table_is_aligned_with_numbers_right_aligned():
    rows = [{"mode": "dense", "ndcg@10": 0.5, "n": 40}, {"mode": "hybrid", "ndcg@10": 0.75123,
                                                         "n": 4}]
    text = format_table(rows, ["mode", "ndcg@10", "n"], title="Retrieval")
    lines = text.splitlines()
    assert lines[0] == "Retrieval"
    assert lines[1] == "mode    ndcg@10   n"
    assert lines[3] == "dense     0.500  40"
    assert lines[4] == "hybrid    0.751   4"


def test_json_turns_nan_into_null(tmp_path):
    path = write_json({"a": float("nan"), "b": (1, 2)}, tmp_path / "out" / "r.json")
    assert json.loads(path.read_text()) == {"a": None, "b": [1, 2]}


def test_png_chart_is_written(tmp_path):
    rows = [{"mode": "dense", "r@5": 0.8, "mrr": math.nan}, {"mode": "bm25", "r@5": 0.6,
                                                             "mrr": 0.5}]
    path = write_bar_chart(rows, label_key="mode", metrics=["r@5", "mrr"],
                           path=tmp_path / "chart.png", title="test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 2000
