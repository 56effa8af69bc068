"""The grounding check decides whether a generated answer may be shown as fact."""

from rag.context import Passage
from rag.grounding import check_grounding, cited_numbers, is_decline, quote_reply


def _p(number: int, text: str, score: float = 0.5) -> Passage:
    return Passage(number=number, text=text, score=score, start=0, end=len(text))


PASSAGES = [
    _p(1, "The capital of Mongolia is Ulaanbaatar.", 0.9),
    _p(2, "The Aurora hub draws 4.5 watts in standby mode.", 0.7),
]


def test_answer_copied_from_context_is_supported():
    verdict = check_grounding("Ulaanbaatar [1]", PASSAGES, min_support=0.6)
    assert verdict.supported
    assert verdict.cited == (1,)


def test_world_knowledge_that_contradicts_context_is_rejected():
    verdict = check_grounding(
        "The capital of Mongolia is Beijing.",
        PASSAGES,
        question="What is the capital of Mongolia?",
        min_support=0.6,
    )
    assert not verdict.supported
    assert verdict.best is not None and verdict.best.number == 1


def test_answer_that_only_restates_the_question_is_not_supported():
    verdict = check_grounding(
        "The capital of Mongolia.", PASSAGES, question="What is the capital of Mongolia?",
        min_support=0.6,
    )
    assert not verdict.supported


def test_number_absent_from_cited_context_is_rejected_even_with_high_word_overlap():
    verdict = check_grounding("The hub draws 5.5 watts in standby [2]", PASSAGES, min_support=0.6)
    assert not verdict.supported
    assert "5.5" in verdict.reason


def test_citation_to_wrong_passage_is_checked_against_that_passage_only():
    verdict = check_grounding("Ulaanbaatar [2]", PASSAGES, min_support=0.6)
    assert not verdict.supported


def test_citation_numbers_outside_sources_are_ignored():
    assert cited_numbers("see [1], [7] and [1] again, then [2]", {1, 2}) == (1, 2)


def test_decline_phrases_are_recognised_and_answers_are_not():
    assert is_decline("The documents do not contain the answer.")
    assert is_decline("I don't know.")
    assert is_decline("This is not mentioned in the documents.")
    assert not is_decline("It draws 4.5 watts [2].")
    assert not is_decline("The Zephyr-9 does not have a descaling programme [1].")


def test_quote_reply_names_its_source_number():
    assert quote_reply(PASSAGES[1]) == 'From [2]: "The Aurora hub draws 4.5 watts in standby mode."'
