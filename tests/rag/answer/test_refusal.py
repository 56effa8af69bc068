"""The refusal model: its keyword signals over a real keyword index, its arithmetic, its file,
and the packaged fitted model on the signals that must decide it."""

from __future__ import annotations

import json

import pytest
from langchain_core.documents import Document

from rag.answer.logistic import Logistic
from rag.answer.refusal import (
    RefusalFeatures,
    RefusalModel,
    answer_coverage,
    load_refusal_model,
    refusal_features,
    term_coverage,
    token_match,
)
from rag.errors import ConfigError
from rag.store.bm25 import Bm25Index

CHUNKS = [
    Document("The Zephyr pump moves 40 litres per minute.", id="a"),
    Document("The Zephyr pump weighs 3 kg and runs on 12 V.", id="b"),
    Document("Every pump ships with a hose.", id="c"),
    Document("The warranty lasts two years.", id="d"),
]


@pytest.fixture(scope="module")
def vocabulary() -> Bm25Index:
    return Bm25Index.build(CHUNKS, k1=1.5, b=0.75)


def test_question_fully_covered_by_the_best_chunk(vocabulary):
    coverage = term_coverage("How many litres does the Zephyr pump move?", CHUNKS[:1],
                             vocabulary)
    assert coverage.chunk == coverage.passages == coverage.library == 1.0
    assert coverage.rarest_missing == 0.0 and coverage.missing_term == ""


def test_a_term_in_no_chunk_lowers_every_share_and_is_named_as_typed(vocabulary):
    coverage = term_coverage("Which Thermostat does the Zephyr pump use?", CHUNKS[:2],
                             vocabulary)
    assert coverage.library < 1.0 and coverage.passages < 1.0
    assert coverage.missing_term == "Thermostat"
    assert coverage.rarest_missing > 0.5  # a rare word in general English


def test_a_rare_missing_term_weighs_more_than_a_common_one(vocabulary):
    # "pump" is in three of four chunks, "warranty" in one: missing from the passages given,
    # the rarer one costs more of the question's weight.
    common = term_coverage("pump warranty", [CHUNKS[3]], vocabulary)
    rare = term_coverage("pump warranty", [CHUNKS[0]], vocabulary)
    assert common.missing_term == "pump" and rare.missing_term == "warranty"
    assert rare.passages < common.passages
    assert rare.rarest_missing > common.rarest_missing


def test_the_best_chunk_share_is_that_of_one_chunk_not_their_union(vocabulary):
    coverage = term_coverage("Zephyr weighs hose", [CHUNKS[1], CHUNKS[2]], vocabulary)
    assert coverage.passages == 1.0
    assert coverage.chunk < 1.0


def test_a_question_without_keyword_terms_counts_as_covered(vocabulary):
    coverage = term_coverage("What is it?", CHUNKS, vocabulary)
    assert (coverage.chunk, coverage.library, coverage.rarest_missing) == (1.0, 1.0, 0.0)


def _model(threshold: float = 0.5) -> RefusalModel:
    names = RefusalFeatures.names()
    weights = Logistic(features=names, mean=(0.5,) * len(names), scale=(0.25,) * len(names),
                       coef=(1.0,) + (0.0,) * (len(names) - 1), intercept=0.0)
    return RefusalModel(weights, threshold, {})


def _features(dense: float) -> RefusalFeatures:
    return RefusalFeatures(dense, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5)


def test_probability_follows_the_weights_and_the_threshold_decides():
    model = _model()
    assert model.probability(_features(0.5)) == pytest.approx(0.5)
    assert model.probability(_features(0.9)) > 0.8
    assert model.declines(_features(0.2)) and not model.declines(_features(0.7))
    assert 0.0 < model.probability(_features(1e6)) <= 1.0  # no overflow


def test_model_file_round_trip_and_errors(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(_model(threshold=0.3).to_json(), encoding="utf-8")
    assert load_refusal_model(path).threshold == 0.3
    broken = json.loads(path.read_text())
    broken["coef"] = broken["coef"][:2]
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    with pytest.raises(ConfigError, match="do not fit together"):
        load_refusal_model(tmp_path / "broken.json")
    with pytest.raises(ConfigError, match="python -m rag fit"):
        load_refusal_model(tmp_path / "absent.json")


def test_packaged_model_declines_what_nothing_covers_and_answers_what_all_covers():
    model = load_refusal_model()
    assert 0.0 < model.threshold < 1.0
    assert set(model.fitted_on["train_questions"]) >= {"realdocs:realdocs"}
    nothing = refusal_features(0.1, 0.1, _coverage(0.0, 0.0, 0.0, 1.0), 0.0, 0.1, 0.0)
    everything = refusal_features(0.8, 0.9, _coverage(1.0, 1.0, 1.0, 0.0), 0.9, 0.9, 1.0)
    assert model.declines(nothing)
    assert not model.declines(everything)


def _coverage(chunk, passages, library, rarest):
    from rag.answer.refusal import TermCoverage

    return TermCoverage(chunk, passages, library, rarest, "")


def test_a_setting_name_counts_whole_not_only_by_its_common_parts():
    chunks = [Document("SESSION_COOKIE_AGE sets the cookie age in seconds.", id="s1"),
              Document("The session cookie refresh happens on every request.", id="s2")]
    vocabulary = Bm25Index.build(chunks, k1=1.5, b=0.75)
    known = term_coverage("How many seconds is SESSION_COOKIE_AGE?", chunks[:1], vocabulary)
    assert known.library == 1.0 and known.missing_term == ""
    # Every part is in the library ("session", "cookie", "refresh"), the setting is not.
    unknown = term_coverage("How many seconds is SESSION_COOKIE_REFRESH?", chunks,
                            vocabulary)
    assert unknown.library < 1.0
    assert unknown.missing_term == "SESSION_COOKIE_REFRESH" and unknown.rarest_missing == 1.0


def test_a_code_asked_alone_is_found_inside_a_snake_case_name():
    chunks = [Document("KLX_7781 [issued=2021-03-04] lists every valve.", id="k1"),
              Document("Valves are listed by size.", id="k2")]
    vocabulary = Bm25Index.build(chunks, k1=1.5, b=0.75)
    coverage = term_coverage("When was the KLX 7781 valve list issued?", chunks, vocabulary)
    assert coverage.missing_term == "" and coverage.library == 1.0
    assert coverage.chunk == 1.0
    # A version's parts are not codes of their own: "4.3.0" does not write "4".
    notes = [Document("Release 4.3.0 notes.", id="r1")]
    other = term_coverage("What changed in release 4?", notes,
                          Bm25Index.build(notes, k1=1.5, b=0.75))
    assert other.missing_term == "4"


def test_a_closed_compound_is_found_where_the_chunks_write_it_open():
    chunks = [Document("Each code point maps to one glyph of the font.", id="g1"),
              Document("The glyph table lists every font shipped.", id="g2")]
    vocabulary = Bm25Index.build(chunks, k1=1.5, b=0.75)
    coverage = term_coverage("Which glyph does a codepoint map to?", chunks, vocabulary)
    assert coverage.library == 1.0 and coverage.passages == 1.0
    assert coverage.chunk == 1.0 and coverage.missing_term == ""
    # Only the chunk that writes it holds it.
    second = term_coverage("Which glyph does a codepoint map to?", chunks[1:], vocabulary)
    assert second.passages < 1.0 and second.missing_term == "codepoint"
    assert second.library == 1.0  # the collection still writes it, in the other chunk


def test_two_known_words_apart_in_the_text_do_not_make_a_compound(vocabulary):
    # "hose" and "pump" are both in the library, never side by side: "hosepump" is missing.
    coverage = term_coverage("Which hosepump fits?", CHUNKS, vocabulary)
    assert coverage.library < 1.0 and coverage.missing_term == "hosepump"


def test_token_match_is_the_best_candidates_word_for_word_closeness(embeddings):
    question, *candidates = embeddings.token_vectors([
        "How many litres per minute does the Zephyr pump move?",
        "The warranty lasts two years.",
        "The Zephyr pump moves 40 litres per minute.",
        "",
    ])
    assert len(candidates[2]) == 0  # an empty text has no wordpieces
    answering = token_match(question, [candidates[1]])
    off_topic = token_match(question, [candidates[0]])
    assert 0.0 < off_topic < answering <= 1.0
    assert token_match(question, candidates) == pytest.approx(answering)  # the best one
    assert token_match(question, []) == 0.0 and token_match(candidates[2], candidates) == 0.0
    # Word for word, not sentence against sentence: a sentence that holds every question
    # word and more matches fully, where the pooled vectors differ.
    (short,) = embeddings.token_vectors(["Zephyr pump"])
    (longer,) = embeddings.token_vectors(["The Zephyr pump weighs 3 kg and runs on 12 V."])
    assert token_match(short, [longer]) > 0.95


def test_answer_coverage_is_what_the_quote_itself_holds_of_the_question():
    question = "Who designed the tidal turbine of the Harbor Base?"
    # The record of the asked-about thing holds its name but not what is asked of it.
    record = "Harbor Base\nprice: 59.00\nweight: 12 kg"
    answer = "The Harbor Base tidal turbine was designed by Ilse Brevik in 2019."
    assert answer_coverage(question, answer) == pytest.approx(1.0)
    assert 0.0 < answer_coverage(question, record) < answer_coverage(question, answer)
    # Specific words weigh more than everyday ones: holding "turbine" beats holding "designed".
    assert answer_coverage(question, "a turbine") > answer_coverage(question, "it was designed")
    assert answer_coverage("What is it?", "anything") == 1.0  # no keyword terms to hold
