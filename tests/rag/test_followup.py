"""Follow-up questions become standalone questions before retrieval."""

from rag.followup import needs_rewrite, rewrite_by_rule

HISTORY = (("What is the battery capacity of the Aurora X2?", "5,000 mAh [1]"),)


def test_first_question_is_left_alone():
    assert rewrite_by_rule("and what about its warranty?", ()) == "and what about its warranty?"


def test_pronoun_follow_up_carries_previous_key_terms():
    rewritten = rewrite_by_rule("and what about its warranty?", HISTORY)
    assert rewritten.startswith("and what about its warranty?")
    for term in ("battery", "capacity", "aurora", "x2"):
        assert term in rewritten.lower()


def test_self_contained_question_is_not_rewritten():
    question = "Which error code means the water tank is empty?"
    assert not needs_rewrite(question, HISTORY)
    assert rewrite_by_rule(question, HISTORY) == question
