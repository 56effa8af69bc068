"""The extractive answer: its features, its reply, and the packaged fitted scorer's choices."""

from __future__ import annotations

import pytest

from rag.answer.context import Passage
from rag.answer.extract import (
    SPAN_FEATURES,
    Candidate,
    candidates,
    extract_reply,
    load_answer_scorer,
    span_feature_rows,
    span_features,
)
from rag.errors import ConfigError


def _p(number: int, text: str, score: float) -> Passage:
    return Passage(number=number, text=text, score=score, start=0, end=len(text))


def test_features_say_what_a_sentence_adds_to_the_question():
    question = "How many hours does the Lumo lantern glow?"
    answer = dict(zip(SPAN_FEATURES, span_features(
        question, Candidate(_p(2, "On a full charge it glows for 14 hours.", 0.6))), strict=True))
    restated = dict(zip(SPAN_FEATURES, span_features(
        question, Candidate(_p(1, "How long does the Lumo lantern glow?", 0.8))), strict=True))
    assert answer["new_number"] == 1.0 and restated["new_number"] == 0.0
    assert restated["question_line"] == 1.0 and answer["question_line"] == 0.0
    assert restated["overlap"] > answer["overlap"]
    assert answer["chunk_rank"] == 0.5 and restated["chunk_rank"] == 1.0
    assert answer["pair"] == 0.0 and answer["next_closeness"] == 0.0


CHUNK = "Sets how long the lamp stays lit. The default is ten minutes. It is saved at once."


def _spans(score_by_start: dict[int, float]) -> list[Passage]:
    ends = {0: 33, 34: 61, 62: len(CHUNK)}
    return [Passage(1, CHUNK[s:ends[s]], score, s, ends[s])
            for s, score in sorted(score_by_start.items(), key=lambda kv: -kv[1])]


def test_candidates_are_each_close_sentence_alone_and_with_the_next_one():
    ranked = _spans({0: 0.9, 34: 0.3, 62: 0.2})
    options = candidates(ranked, [CHUNK], limit=2)
    texts = [c.passage.text for c in options]
    assert texts == [
        "Sets how long the lamp stays lit.",
        "Sets how long the lamp stays lit. The default is ten minutes.",
        "The default is ten minutes.",
        "The default is ten minutes. It is saved at once.",
    ]
    pair = options[1]
    assert pair.next_score == 0.3 and (pair.passage.start, pair.passage.end) == (0, 61)
    assert span_features("x", pair)[SPAN_FEATURES.index("pair")] == 1.0


def test_features_place_a_candidate_among_the_others_of_its_question():
    question = "How long does the Lumo lamp stay lit?"
    ranked = _spans({0: 0.9, 34: 0.3, 62: 0.2})
    options = candidates(ranked, [CHUNK], limit=2)
    rows = [dict(zip(SPAN_FEATURES, row, strict=True))
            for row in span_feature_rows(question, options)]
    # The closest sentence is 0 behind the best; the others are behind by the difference.
    assert [round(r["closeness_gap"], 2) for r in rows] == [0.0, 0.0, -0.6, -0.6]
    assert max(r["overlap_gap"] for r in rows) == 0.0
    assert min(r["overlap_gap"] for r in rows) < 0.0
    # Alone, a candidate is its own best.
    alone = dict(zip(SPAN_FEATURES, span_features(question, options[2]), strict=True))
    assert alone["closeness_gap"] == 0.0 and alone["overlap_gap"] == 0.0


def test_a_candidate_carries_its_chunks_closeness_to_the_question():
    ranked = _spans({0: 0.9, 34: 0.3, 62: 0.2})
    options = candidates(ranked, [CHUNK], limit=2, chunk_scores=[0.42])
    at = SPAN_FEATURES.index("chunk_closeness")
    assert {row[at] for row in span_feature_rows("x", options)} == {0.42}  # pairs too
    assert candidates(ranked, [CHUNK], limit=1)[0].chunk_score == 0.0  # none given


def test_packaged_scorer_prefers_the_chunk_about_the_question_on_equal_sentences():
    scorer = load_answer_scorer()
    text = "The Lumo lantern glows for 14 hours."
    on_topic, off_topic = _p(2, text, 0.6), _p(2, text, 0.6)
    assert scorer.best("How long does the Lumo lantern glow?",
                       [Candidate(off_topic, chunk_score=0.2),
                        Candidate(on_topic, chunk_score=0.7)]) is on_topic


def test_reply_leads_with_the_sentence_and_joins_a_record_lines():
    assert extract_reply(_p(3, "It glows for 14 hours.", 0.5)) == "It glows for 14 hours. [3]"
    record = _p(1, "code: L7\ntitle:   Lamp overheated\n\nseverity: error", 0.5)
    assert extract_reply(record) == "code: L7 · title: Lamp overheated · severity: error [1]"


def test_packaged_scorer_prefers_the_better_retrieved_chunk_on_equal_sentences():
    scorer = load_answer_scorer()
    text = "The Lumo lantern glows for 14 hours."
    first, third = _p(1, text, 0.6), _p(3, text, 0.6)
    assert scorer.best("How long does the Lumo lantern glow?",
                       [Candidate(third), Candidate(first)]) is first
    assert scorer.best("anything", []) is None


def test_packaged_scorer_follows_closeness_when_nothing_else_differs():
    scorer = load_answer_scorer()
    near = _p(1, "The Lumo lantern is charged over USB-C.", 0.75)
    far = _p(1, "The Lumo lantern comes in a paper box.", 0.40)
    assert scorer.best("How is the Lumo lantern charged?",
                       [Candidate(far), Candidate(near)]) is near


def test_a_scorer_file_for_other_features_is_refused(tmp_path):
    path = tmp_path / "scorer.json"
    path.write_text('{"features": ["closeness"], "mean": [0], "scale": [1], "coef": [1]}')
    with pytest.raises(ConfigError, match="fit it again"):
        load_answer_scorer(path)


def test_two_packed_records_are_never_one_candidate():
    chunk = "id: a\ncolour: red\nid: b\ncolour: blue"
    first, second = Passage(1, chunk[:18], 0.9, 0, 18), Passage(1, chunk[19:], 0.5, 19, 36)
    options = candidates([first, second], [chunk], limit=2, boundaries=[[18, 36]])
    assert [c.passage.text for c in options] == [chunk[:18], chunk[19:]]
    joined = candidates([first, second], [chunk], limit=1)  # without the records' ends
    assert joined[1].passage.text == chunk
