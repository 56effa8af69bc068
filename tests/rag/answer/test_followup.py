"""Follow-up questions become standalone questions before retrieval."""

from rag.answer.followup import rewrite_by_rule

HISTORY = (("What is the battery capacity of the Aurora X2?", "5,000 mAh [1]"),)


def test_first_question_is_left_alone():
    assert rewrite_by_rule("and what about its warranty?", ()) == "and what about its warranty?"


def test_follow_up_carries_the_previous_key_terms_it_lacks():
    rewritten = rewrite_by_rule("and what about its warranty?", HISTORY)
    assert rewritten.startswith("and what about its warranty?")
    for term in ("battery", "capacity", "aurora", "x2"):
        assert term in rewritten.lower()


def test_a_follow_up_without_a_pronoun_carries_them_too():
    rewritten = rewrite_by_rule("How long does charging take?", HISTORY)
    assert "aurora x2" in rewritten.lower()


def test_words_the_follow_up_has_are_not_repeated():
    rewritten = rewrite_by_rule("What is the battery capacity of the Aurora X3?", HISTORY)
    assert rewritten.endswith("(x2)")
