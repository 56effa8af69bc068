"""Follow-up questions become standalone questions before retrieval."""

from langchain_core.documents import Document

from rag.bm25 import Bm25Index
from rag.followup import carried_words, rewrite_by_rule

HISTORY = (("What is the battery capacity of the Aurora X2?", "5,000 mAh [1]"),)

# A small collection in which "battery" and "capacity" are common and "Aurora X2" in one chunk.
CHUNKS = [
    Document("The Aurora X2 battery holds 5,000 mAh.", id="1"),
    Document("Replace the battery when its capacity drops.", id="2"),
    Document("Charge the battery before first use.", id="3"),
    Document("Battery capacity falls in the cold.", id="4"),
    Document("The Boreal Z9 charges in 40 minutes.", id="5"),
]


def _specificity():
    return Bm25Index.build(CHUNKS, k1=1.5, b=0.75).specificity


def test_first_question_is_left_alone():
    assert rewrite_by_rule("and what about its warranty?", ()) == "and what about its warranty?"


def test_without_a_collection_every_previous_key_term_is_carried():
    rewritten = rewrite_by_rule("and what about its warranty?", HISTORY)
    assert rewritten.startswith("and what about its warranty?")
    for term in ("battery", "capacity", "aurora", "x2"):
        assert term in rewritten.lower()


def test_a_follow_up_without_a_pronoun_still_carries_the_subject():
    carried = carried_words("How long does charging take?", HISTORY[0][0], _specificity())
    # The two most specific words of the previous question in this collection: its subject,
    # not the words everything here shares.
    assert sorted(carried) == ["aurora", "x2"]


def test_a_follow_up_naming_its_own_subject_carries_nothing():
    weigh = _specificity()
    assert carried_words("How fast does the Boreal Z9 charge?", HISTORY[0][0], weigh) == []
    question = "How fast does the Boreal Z9 charge?"
    assert rewrite_by_rule(question, HISTORY, weigh) == question
