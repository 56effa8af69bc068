"""The realdocs layout: loading, the README's scoring rule, locator checks and a whole run."""

import json
from pathlib import Path

import pytest
from langchain_core.documents import Document

from rag.errors import ConfigError
from rag.eval.answer_eval import score_reply
from rag.eval.realdocs import (
    Place,
    answer_found,
    html_locator_matches,
    json_locator_matches,
    load_realdocs,
    locator_matches,
    query_text,
    supporting_place,
    text_supports,
    xml_locator_matches,
)
from rag.eval.realdocs_run import realdocs_qa_items, run_realdocs
from rag.settings import Settings

CATALOG = """<?xml version="1.0"?>
<shelf xmlns="urn:example:shelf">
  <book id="b1"><title>Tidal Engines</title><pages>212</pages></book>
  <book id="b2"><title>Salt and Iron</title><pages>388</pages></book>
</shelf>
"""
STATIONS = {"stations": {"KX": {"name": "Kestrel Crossing", "platforms": 7},
                         "OW": {"name": "Owl Wharf", "platforms": 2}}}
MANUAL = """<html><head><title>Kiln guide</title></head><body>
<h1>Kiln guide</h1><p>Read this first.</p>
<h2 id="firing">Firing schedule</h2><p>The bisque firing holds at 950 degrees for two hours.</p>
<h2 id="cooling">Cooling</h2><p>Never open the lid above 200 degrees.</p>
</body></html>"""


def _question(qid, question, answer, file, fmt, locator, evidence, **extra):
    return {"id": qid, "question": question, "answer": answer, "answer_aliases": [],
            "file": file, "format": fmt, "locator": locator, "evidence": evidence,
            "unanswerable": False, "follow_up_of": None, **extra}


@pytest.fixture
def realdocs(tmp_path):
    docs = tmp_path / "documents"
    (docs / "lib").mkdir(parents=True)
    (docs / "lib" / "shelf.xml").write_text(CATALOG, encoding="utf-8")
    (docs / "lib" / "stations.json").write_text(json.dumps(STATIONS), encoding="utf-8")
    (docs / "kiln.html").write_text(MANUAL, encoding="utf-8")
    lines = [
        _question("x1", "How many pages does Salt and Iron have?", "388", "lib/shelf.xml", "xml",
                  {"xpath": "//*[local-name()='book'][@id='b2']/*[local-name()='pages']"},
                  "388"),
        _question("j1", "How many platforms at Owl Wharf?", "2", "lib/stations.json", "json",
                  {"pointer": "/stations/OW/platforms"}, '"platforms": 2'),
        _question("h1", "How long does the bisque firing hold at temperature?", "two hours",
                  "kiln.html", "html", {"heading_path": ["Kiln guide", "Firing schedule"],
                                        "element_id": "firing"},
                  "The bisque firing holds at 950 degrees for two hours."),
        _question("h2", "And when is it safe to open the lid?", "200 degrees", "kiln.html",
                  "html", {"heading_path": ["Kiln guide", "Cooling"], "element_id": "cooling"},
                  "Never open the lid above 200 degrees.", follow_up_of="h1"),
        {"id": "u1", "question": "What glaze recipes does the guide give?", "answer": None,
         "answer_aliases": [], "file": None, "format": None, "locator": None, "evidence": None,
         "unanswerable": True, "follow_up_of": None},
    ]
    (tmp_path / "questions.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return tmp_path


def test_load_realdocs_reads_places_follow_ups_and_unanswerables(realdocs):
    data = load_realdocs(realdocs)
    items = data.by_id()
    assert len(data.items) == 5
    assert items["u1"].unanswerable and items["u1"].places == ()
    assert items["h2"].follow_up_of == "h1"
    assert items["j1"].places[0] == Place("lib/stations.json",
                                          {"pointer": "/stations/OW/platforms"}, '"platforms": 2')


def test_load_realdocs_names_the_bad_line(tmp_path):
    (tmp_path / "documents").mkdir()
    (tmp_path / "questions.jsonl").write_text('{"id": "a"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"questions.jsonl:1"):
        load_realdocs(tmp_path)


def test_scoring_rule_needs_the_file_and_the_answer_or_evidence(realdocs):
    item = load_realdocs(realdocs).by_id()["h1"]
    place = item.places[0]
    assert text_supports("... holds for TWO\n hours ...", item, place)
    assert not text_supports("The glaze firing holds longer.", item, place)
    right = {"source": "/somewhere/documents/kiln.html"}
    assert supporting_place(right, "for two hours", item) == place
    assert supporting_place({"source": "other.html"}, "for two hours", item) is None


def test_answers_are_scored_by_the_readme_rule_as_text(realdocs):
    # The README compares case-insensitively with whitespace collapsed, as text: stricter
    # whole-word matching is the other sets' rule (rag.eval.metrics.contains_answer).
    assert answer_found("The limit is\n 64  KiB per row", ["64 kib"])
    assert answer_found("written in 2010", ["10"])
    assert not answer_found("written in 2010", ["2011"])
    assert not answer_found("anything", [""])
    item = {i.id: i for i in realdocs_qa_items(load_realdocs(realdocs).items)}["j1"]
    row = score_reply(item, "ours", reply="Owl Wharf: platforms=2;", path="quoted",
                      declined=False, cited_sources=(), seconds=0.1)
    assert row.correct


def test_json_locator_is_the_record_or_the_leaf_never_the_root():
    assert json_locator_matches("/stations/OW/platforms", "/stations/OW")
    assert json_locator_matches("/stations/OW/platforms", "/stations/OW/platforms")
    assert not json_locator_matches("/stations/OW/platforms", "/stations/KX")
    assert not json_locator_matches("/stations/OW/platforms", "")
    assert json_locator_matches("/File-Date", "")  # a one-record file's own field
    assert not json_locator_matches("/a/b/c/d", "/a")


def test_xml_locator_follows_our_local_name_steps(realdocs):
    path = realdocs / "documents" / "lib" / "shelf.xml"
    gold = "//*[local-name()='book'][@id='b2']/*[local-name()='pages']"
    assert xml_locator_matches(gold, "/shelf/book[2]", path)
    assert xml_locator_matches(gold, "/shelf/book[2]/pages", path)
    assert not xml_locator_matches(gold, "/shelf/book[1]", path)
    # An element inside the gold node names the same place more narrowly; its sibling does not.
    whole_book = "//*[local-name()='book'][@id='b2']"
    assert xml_locator_matches(whole_book, "/shelf/book[2]/title", path)
    assert not xml_locator_matches(whole_book, "/shelf/book[1]/title", path)
    assert not xml_locator_matches(gold, "/shelf/book[2]/title", path)
    assert not xml_locator_matches("//*[local-name()='nothing']", "/shelf/book[2]", path)


def test_html_and_pdf_and_text_locators():
    gold = {"heading_path": ["Kiln guide", "Cooling"], "element_id": "cooling"}
    assert html_locator_matches(gold, "Kiln guide > Cooling#cooling")
    assert html_locator_matches(gold, "Kiln guide > Cooling")
    assert not html_locator_matches(gold, "Kiln guide > Firing schedule#firing")
    documents = Path("documents")  # only XML locators open the file
    pdf = Place("a.pdf", {"page": 3}, "")
    assert locator_matches(pdf, {"page": 3}, "page 3", documents)
    assert not locator_matches(pdf, {"page": 30}, "page 30", documents)
    text = Place("changes", {"line": 12}, "")
    assert locator_matches(text, {"line": 10, "line_end": 14}, "lines 10-14", documents)
    assert not locator_matches(text, {"line": 13, "line_end": 20}, "lines 13-20", documents)


def test_follow_up_query_carries_the_previous_question(realdocs):
    items = load_realdocs(realdocs).by_id()
    assert query_text(items["h1"], items) == items["h1"].question
    carried = query_text(items["h2"], items)
    assert "bisque" in carried and carried.startswith(items["h2"].question)
    qa = {q.id: q for q in realdocs_qa_items(list(items.values()))}
    assert qa["h2"].follows == "h1" and not qa["u1"].answerable


@pytest.mark.slow
def test_whole_run_ingests_the_documents_and_scores_every_format(realdocs, monkeypatch):
    monkeypatch.chdir(realdocs)
    run = run_realdocs(load_realdocs(realdocs), ["bm25", "hybrid"],
                       Settings(store={"mode": "memory"}))
    assert "3 ingested" in run.ingest
    hybrid = {r.format: r for r in run.by_format if r.mode == "hybrid"}
    # Follow-ups are a group of their own too, searched as the chain rewrites them.
    assert set(hybrid) == {"all", "html", "json", "xml", "follow-ups"}
    assert hybrid["all"].questions == 4  # the unanswerable question is not a retrieval query
    assert hybrid["follow-ups"].questions == 1
    assert hybrid["all"].recall_at_5 == 1.0
    assert hybrid["all"].locator_ok == 1.0
    assert run.calibration.rows  # refusal signals were computed for all five questions


def test_chunk_of_unrelated_text_is_not_correct(realdocs):
    item = load_realdocs(realdocs).by_id()["x1"]
    chunk = Document(page_content="title: Tidal Engines\npages: 212",
                     metadata={"source": "documents/lib/shelf.xml"})
    assert supporting_place(chunk.metadata, chunk.page_content, item) is None
