import json

import pytest

from rag.errors import ConfigError
from rag.eval.datasets import load_beir, load_gold, load_squad_answers, spread


def _write_jsonl(path, records):
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")


def write_beir(folder, n_docs=5):
    (folder / "qrels").mkdir(parents=True)
    _write_jsonl(
        folder / "corpus.jsonl",
        [{"_id": f"d{i}", "title": f"Title {i}", "text": f"text of doc {i}"}
         for i in range(n_docs)],
    )
    _write_jsonl(
        folder / "queries.jsonl",
        [{"_id": "q1", "text": "first"}, {"_id": "q2", "text": "second"},
         {"_id": "q3", "text": "train only"}],
    )
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td3\t1\nq2\td4\t1\nq2\td0\t0\n"
    )
    (folder / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nq3\td2\t1\n")
    return folder


def test_load_beir_keeps_judged_queries_of_the_split(tmp_path):
    data = load_beir(write_beir(tmp_path / "toy"), "test")
    assert data.name == "toy"
    assert len(data.corpus) == 5
    assert data.corpus["d2"] == ("Title 2", "text of doc 2")
    assert data.queries == {"q1": "first", "q2": "second"}
    assert data.qrels == {"q1": {"d1": 1, "d3": 1}, "q2": {"d4": 1}}  # score 0 is not relevant
    train = load_beir(tmp_path / "toy", "train")
    assert train.queries == {"q3": "train only"}
    assert list(load_beir(tmp_path / "toy", "test", limit=1).queries) == ["q1"]


def test_load_beir_missing_split_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"dev\.tsv"):
        load_beir(write_beir(tmp_path / "toy"), "dev")


def test_load_gold(tmp_path):
    path = tmp_path / "gold.jsonl"
    _write_jsonl(path, [
        {"id": "q1", "question": "How long?", "answer": "30 minutes", "aliases": ["half an hour"],
         "relevant": [{"source": "data/corpus/a.pdf", "locator": "page 2"}], "format": "pdf",
         "answerable": True},
        {"id": "q2", "question": "Capital of Mars?", "answer": "", "aliases": [], "relevant": [],
         "format": "none", "answerable": False},
    ])
    items = load_gold(path)
    assert [i.id for i in items] == ["q1", "q2"]
    assert items[0].references == ("30 minutes", "half an hour")
    assert items[0].relevant[0].locator == "page 2"
    assert not items[1].answerable


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not JSON"),
        (json.dumps({"id": "x", "question": "q?", "relevant": []}), "needs relevant"),
        (json.dumps({"question": "q?"}), "missing"),
    ],
)
def test_load_gold_rejects_bad_lines_with_their_number(tmp_path, line, message):
    path = tmp_path / "gold.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(ConfigError, match=message) as err:
        load_gold(path)
    assert "gold.jsonl:1" in str(err.value)


def test_load_squad_answers(tmp_path):
    _write_jsonl(tmp_path / "answers.jsonl", [
        {"_id": "a", "question": "Where?", "answers": ["France"], "is_impossible": False,
         "paragraph_id": "P_0"},
        {"_id": "b", "question": "Who?", "answers": [], "is_impossible": True,
         "paragraph_id": "P_0"},
    ])
    items = load_squad_answers(tmp_path)
    assert [(i.id, i.is_impossible) for i in items] == [("a", False), ("b", True)]
    assert items[0].answers == ("France",)
    assert len(load_squad_answers(tmp_path / "answers.jsonl", limit=1)) == 1


def test_spread_keeps_the_mix():
    items = list(range(10))
    assert spread(items, 5) == [0, 2, 4, 6, 8]
    assert spread(items, 3) == [0, 3, 6]
    assert spread(items, None) == items
    assert spread(items, 50) == items
