import pytest

from rag.errors import ConfigError
from rag.eval.answer_eval import (
    QAItem,
    RefusalSignal,
    answer_configs,
    answer_span,
    calibrate,
    score_reply,
    summarise_answers,
    tutorial_baseline_config,
)
from rag.settings import Settings


def _item(answerable=True, refs=("30 minutes",)):
    return QAItem("q", "How long?", refs if answerable else (), answerable,
                  is_relevant=lambda source: source == "good")


def test_answer_span_drops_citations_and_quote_prefix():
    assert answer_span("From [2]: It takes 30 minutes [2].") == "It takes 30 minutes ."
    assert answer_span("30 minutes [1][3]") == "30 minutes"


def test_score_answerable_reply():
    row = score_reply(_item(), "c", reply="30 minutes [1]", path="generated", declined=False,
                      cited_sources=["good", "bad"], seconds=1.5)
    assert row.correct
    assert row.exact_match == 1.0 and row.f1 == 1.0
    assert row.citation_correctness == 0.5


def test_a_declined_answerable_question_is_not_correct():
    row = score_reply(_item(), "c", reply="The documents do not contain the answer.",
                      path="declined", declined=True, cited_sources=[], seconds=0.1)
    assert not row.correct and row.f1 == 0.0 and row.citation_correctness is None


def test_unanswerable_scores_squad2_style():
    declined = score_reply(_item(False), "c", reply="", path="declined", declined=True,
                           cited_sources=[], seconds=0.1)
    answered = score_reply(_item(False), "c", reply="Paris", path="generated", declined=False,
                           cited_sources=["bad"], seconds=0.1)
    assert (declined.exact_match, declined.f1) == (1.0, 1.0)
    assert (answered.exact_match, answered.f1, answered.correct) == (0.0, 0.0, False)
    summary = summarise_answers("c", [declined, answered])
    assert summary.unanswerable_declined == 0.5
    assert summary.answerable == 0
    assert summary.citation_correctness == 0.0
    assert summary.paths == {"declined": 1, "generated": 1}


def test_summary_rates():
    rows = [
        score_reply(_item(), "c", reply="30 minutes", path="generated", declined=False,
                    cited_sources=["good"], seconds=1.0),
        score_reply(_item(), "c", reply="an hour", path="quoted", declined=False,
                    cited_sources=["good"], seconds=2.0),
        score_reply(_item(), "c", reply="", path="declined", declined=True, cited_sources=[],
                    seconds=3.0),
        score_reply(_item(False), "c", reply="", path="declined", declined=True,
                    cited_sources=[], seconds=4.0),
    ]
    s = summarise_answers("c", rows)
    assert s.answered_correctly == pytest.approx(1 / 3)
    assert s.falsely_declined == pytest.approx(1 / 3)
    assert s.unanswerable_declined == 1.0
    assert s.citation_correctness == 1.0
    assert s.p50_seconds == 2.5
    assert s.exact_match == pytest.approx(0.5)  # 1 + 0 + 0 + 1 over 4


def test_expand_gives_one_config_per_neighbour_count_instead_of_the_baseline():
    settings = Settings()
    assert [c.name for c in answer_configs(settings)] == ["ours (default)", "tutorial baseline"]
    configs = answer_configs(settings, [0, 2])
    assert [c.name for c in configs] == ["ours, expand 0", "ours, expand 2"]
    assert [c.settings.retrieval.expand_neighbours for c in configs] == [0, 2]
    assert not any(c.raw for c in configs)
    assert settings.retrieval.expand_neighbours == 0  # the original settings are untouched
    with pytest.raises(ConfigError, match="expand_neighbours 99"):
        answer_configs(settings, [99])


def test_tutorial_baseline_uses_whole_chunks_without_refusal():
    settings = Settings()
    config = tutorial_baseline_config(settings)
    assert config.raw and config.k == 4 and config.prompt_preset == "tutorial_baseline"
    assert config.settings.answer.context_strategy == "chunks"
    assert config.settings.answer.refuse is False  # no refusal of any kind
    assert settings.answer.refuse is True  # the original settings are untouched


def test_calibration_finds_threshold_meeting_targets():
    relevance = _signals(("a1", True, 0.7), ("a2", True, 0.6), ("a3", True, 0.5),
                         ("u1", False, 0.2), ("u2", False, 0.3), ("u3", False, 0.45))
    cal = calibrate("toy", relevance, thresholds=[0.0, 0.25, 0.4, 0.5, 0.55])
    by_t = {r.threshold: r for r in cal.rows}
    assert by_t[0.0].unanswerable_declined == 0.0
    assert by_t[0.25].unanswerable_declined == pytest.approx(1 / 3)
    assert by_t[0.5].unanswerable_declined == 1.0
    assert by_t[0.5].answerable_falsely_declined == 0.0
    assert by_t[0.55].answerable_falsely_declined == pytest.approx(1 / 3)
    assert cal.best == 0.5
    assert "targets met" in cal.verdict


def test_calibration_reports_when_no_threshold_meets_targets():
    relevance = _signals(("a1", True, 0.3), ("u1", False, 0.5))
    cal = calibrate("toy", relevance, thresholds=[0.0, 0.4, 0.6])
    assert not any(r.meets_targets for r in cal.rows)
    assert cal.verdict.startswith("no threshold meets both targets")


def test_calibration_target_is_seven_in_ten_unanswerable_declined():
    # Ten unanswerable questions with closeness 0.1..1.0; answerable ones all above 0.9.
    relevance = _signals(*[(f"u{i}", False, i / 10) for i in range(1, 11)],
                         *[(f"a{i}", True, 0.95) for i in range(10)])
    cal = calibrate("toy", relevance, thresholds=[0.65, 0.75])
    by_t = {r.threshold: r for r in cal.rows}
    assert by_t[0.65].unanswerable_declined == pytest.approx(0.6)
    assert not by_t[0.65].meets_targets
    assert by_t[0.75].unanswerable_declined == pytest.approx(0.7)
    assert by_t[0.75].meets_targets


def test_calibration_sweeps_the_model_probability_beside_closeness_alone():
    signals = [
        RefusalSignal("a1", True, 0.7, probability=0.9),
        RefusalSignal("a2", True, 0.6, probability=0.8),
        RefusalSignal("u1", False, 0.65, probability=0.2),  # close, yet judged unanswered
        RefusalSignal("u2", False, 0.2, probability=0.1),
    ]
    cal = calibrate("toy", signals, thresholds=[0.0, 0.3])
    by_t = {r.threshold: r for r in cal.rows}
    assert by_t[0.0].unanswerable_declined == 0.0
    assert by_t[0.3].unanswerable_declined == 1.0 and by_t[0.3].relevance_only_declined == 0.5
    assert by_t[0.3].answerable_falsely_declined == 0.0
    assert cal.best == 0.3 and "targets met" in cal.verdict


def _signals(*rows: tuple[str, bool, float]) -> list[RefusalSignal]:
    # The model's probability follows closeness here, so both columns agree.
    return [RefusalSignal(qid, answerable, relevance, probability=relevance)
            for qid, answerable, relevance in rows]
