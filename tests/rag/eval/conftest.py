"""A tiny gold set over a one-file corpus, for the runs that ingest and search for real."""

import json

import pytest

ERRORS = {
    "errors": [
        {"code": "E101", "meaning": "Blade motor blocked by grass or a stone; clear the blades."},
        {"code": "E204", "meaning": "Battery temperature too high; let the mower cool down."},
        {"code": "E310", "meaning": "Rain sensor active; mowing paused until the lawn is dry."},
    ]
}


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


@pytest.fixture
def gold_case(tmp_path, monkeypatch):
    """(gold.jsonl, corpus folder): one question whose gold locator is right, one whose gold
    locator is wrong, one the corpus does not answer; the working folder is tmp_path, so the
    gold set's relative sources resolve."""
    monkeypatch.chdir(tmp_path)
    corpus = tmp_path / "data" / "corpus"
    corpus.mkdir(parents=True)
    (corpus / "error_codes.json").write_text(json.dumps(ERRORS), encoding="utf-8")
    gold = tmp_path / "gold.jsonl"
    rel = "data/corpus/error_codes.json"
    write_jsonl(gold, [
        {"id": "right", "question": "What does error E204 mean on the battery?",
         "answer": "Battery temperature too high", "aliases": [],
         "relevant": [{"source": rel, "locator": "/errors/1"}], "format": "json",
         "answerable": True},
        {"id": "wrong", "question": "What does error E310 mean?", "answer": "Rain sensor active",
         "aliases": [], "relevant": [{"source": rel, "locator": "/errors/9"}],
         "format": "json", "answerable": True},
        {"id": "absent", "question": "Who sculpted the Venus de Milo?", "answer": "", "aliases": [],
         "relevant": [], "format": "none", "answerable": False},
    ])
    return gold, corpus
