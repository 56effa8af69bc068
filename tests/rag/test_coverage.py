"""rag/coverage.py: specific question words that no document uses."""

from __future__ import annotations

from langchain_core.documents import Document

from rag.bm25 import Bm25Index
from rag.coverage import (
    PASSAGES_LACK,
    asked_words,
    decline_reason,
    missing_in_passages,
    missing_terms,
    named_numbers,
    typed_names,
)

DOCS = [
    "The Marten M5 X has wheel motors rated for slopes up to 45%. Warranty: 3 years in Germany.",
    "MartenOS 4.2.1 was released on 2 May 2025 and fixes false lift alarms.",
    "The Lodestar beacon is mounted 2 m high. Bluetooth pairing takes 30 seconds.",
]


def _vocabulary(texts: list[str] = DOCS) -> Bm25Index:
    docs = [Document(t, id=f"c{i}") for i, t in enumerate(texts)]
    return Bm25Index.build(docs, k1=1.2, b=0.75)


def _missing(question: str, passages: list[str] = DOCS, rare_below: float = 5.0):
    return missing_terms(question, _vocabulary().has_related_term, passages, rare_below=rare_below)


def test_a_rare_word_no_document_uses_is_missing():
    assert _missing("How much torque do the M5 X wheel motors have?") == ("torque",)
    assert _missing("How long is the Lodestar beacon's antenna?") == ("antenna",)


def test_words_the_documents_use_are_covered_through_stemming():
    assert _missing("How are the wheel motors rated on slopes?") == ()
    assert _missing("Does bluetooth pair quickly?") == ()  # "pairing" in the text


def test_common_words_never_count_as_missing():
    # "soon" and "far" are absent from every document, but common English words like these are
    # usually paraphrases ("within", "distance"), not the thing asked about.
    assert _missing("How soon and how far does the beacon work?") == ()


def test_model_numbers_and_codes_count_whatever_their_frequency():
    assert _missing("What would a Marten M7 cost?") == ("m7",)
    assert _missing("How much does the Marten M5 X cost?") == ()


def test_versions_the_keyword_tokenizer_drops_are_looked_up_in_the_passages():
    assert _missing("When is MartenOS 5.0 due out?") == ("MartenOS 5.0",)
    assert _missing("When did MartenOS 4.2.1 come out?") == ()
    # Whole-word match: "15.0" and "5.01" do not cover "5.0".
    question = "When will 5.0 be released?"
    assert _missing(question, passages=["Version 15.0 and 5.01 exist."]) == ("5.0",)
    assert _missing(question, passages=["Version 5.0 ships in May."]) == ()


def test_question_words_are_never_the_missing_thing():
    assert _missing("Whose beacon is mounted 2 m high?") == ()


def test_threshold_zero_keeps_only_words_with_digits():
    assert _missing("What is the torque of the M7?", rare_below=0.0) == ("m7",)


def test_an_empty_library_covers_nothing():
    empty = Bm25Index.build([], k1=1.2, b=0.75)
    missing = missing_terms("Is the torque known?", empty.has_related_term, [], rare_below=5.0)
    assert missing == ("torque",)


def test_reason_names_the_words():
    assert decline_reason(("torque", "m7")) == 'no document mentions "torque", "m7"'


def test_versions_anywhere_in_the_collection_count_even_when_not_retrieved():
    vocabulary = _vocabulary()
    question = "What changed in MartenOS 4.2.1?"
    # Not in the retrieved passages, but in a chunk of the collection: mentioned.
    assert missing_terms(question, vocabulary.has_related_term, ["unrelated"], rare_below=5.0,
                         has_number=vocabulary.has_number, has_match=vocabulary.has_match) == ()
    assert missing_terms("What changed in 4.2?", vocabulary.has_related_term, ["unrelated"],
                         rare_below=5.0, has_number=vocabulary.has_number) == ("4.2",)


def _lacking(question: str, passages: list[str] = DOCS, at_least: int = 2):
    return missing_in_passages(question, passages, common_above=5.5, at_least=at_least)


def test_two_words_the_retrieved_passages_never_use_mean_they_talk_about_something_else():
    # Every word is known to the library as a whole ("speed" could be anywhere); what counts
    # here is that none of the passages found for the question uses them.
    assert _lacking("Tell me the top driving speed of the Marten M5 X?") == ("driving", "speed")


def test_one_missing_word_is_a_paraphrase_not_a_refusal():
    assert _lacking("What slope can the Marten M5 X drive on?") == ()
    assert _lacking("What slope can the Marten M5 X drive on?", at_least=1) == ("drive",)


def test_very_common_words_and_question_words_never_count():
    # "take", "long", "one", "when" are absent from every passage.
    assert _lacking("When does it take one long time to pair with the beacon?") == ()


def test_words_inside_hyphenated_and_stemmed_forms_are_present():
    passages = ["Each delivery carries an X-Brevik-Signature header signed with HMAC."]
    assert _lacking("Which header carries the delivery signatures?", passages) == ()


def test_zero_switches_the_passage_check_off():
    assert _lacking("Tell me the top driving speed of the Marten M5 X?", at_least=0) == ()


def test_passage_reason_says_where_the_words_are_missing():
    assert decline_reason(("driving", "speed"), PASSAGES_LACK) == (
        'the passages found never mention "driving", "speed"'
    )


def test_a_version_counts_only_next_to_the_name_it_follows():
    vocabulary = _vocabulary()
    texts = ["Bluetooth 5.0 pairing.", "MartenOS 4.3.0 Release Notes", "MartenOS version 4.4.1"]

    def missing(question: str) -> tuple[str, ...]:
        return missing_terms(question, vocabulary.has_related_term, texts, rare_below=5.0,
                             has_number=lambda w: w in {"5.0", "4.3.0", "4.4.1"})

    # "5.0" occurs, but as Bluetooth's version: no document mentions a MartenOS 5.0.
    assert missing("When is MartenOS 5.0 due out?") == ("MartenOS 5.0",)
    assert missing("Does the beacon use Bluetooth 5.0?") == ()
    # A shorter version is mentioned by a longer one, and a word may sit between.
    assert missing("What is new in MartenOS 4.3?") == ()
    assert missing("What is new in MartenOS 4.4.1?") == ()
    assert missing("What is new in MartenOS 4.35?") == ("MartenOS 4.35",)


def test_named_versions_are_looked_up_in_the_whole_collection():
    vocabulary = _vocabulary()
    # In a chunk of the collection, not in the retrieved passages: mentioned.
    assert missing_terms("What did MartenOS 4.2.1 fix?", vocabulary.has_related_term, ["unrelated"],
                         rare_below=5.0, has_number=vocabulary.has_number,
                         has_match=vocabulary.has_match) == ()
    assert missing_terms("What did MartenOS 4.2.2 fix?", vocabulary.has_related_term, ["unrelated"],
                         rare_below=5.0, has_number=vocabulary.has_number,
                         has_match=vocabulary.has_match) == ("MartenOS 4.2.2",)


def test_named_numbers_need_a_capitalised_name_before_the_number():
    assert [(n, v) for n, v, _ in named_numbers("Does Wi-Fi 6 or MartenOS 4.3 work?")] == [
        ("Wi-Fi", "6"), ("MartenOS", "4.3")
    ]
    # Quantities and lower-case words are not names: "within 30 days", "a 300 m roll".
    assert named_numbers("Can I return it within 30 days, or a 300 m roll?") == []


def test_the_asked_words_are_the_lower_case_ones():
    assert asked_words("Brevik Robotics has how many employees?") == ("employees",)
    assert asked_words("Does Care Plus have a student discount?") == ("student", "discount")
    assert asked_words("What is the Marten M5 X?") == ()
    # A question naming the kind of answer it wants is answered by an instance of it (a
    # tree's name, a colour), which need not repeat the kind: it has no asked words.
    assert asked_words("Which tree is Alpha 9?") == ()
    assert asked_words("In what colour is the Marten M5 X sold?") == ()
    # Frame verbs of a question about a stated value: "price: 149" answers "cost".
    assert asked_words("How much does the Harbor Base HB-2 cost?") == ()
    assert asked_words("How much does the spare Harbor Base cost?") == ("spare",)


def test_passages_without_any_asked_word_talk_about_something_else():
    passages = ["Brevik Robotics AS was founded in 2017 in Norway."]
    # One missing word, but it is the only one that says what is asked.
    assert _lacking("Brevik Robotics has how many employees?", passages) == ("employees",)
    assert _lacking("Which year was Brevik Robotics founded in?", passages) == ()
    # A question with no lower-case content word has nothing to miss.
    assert _lacking("What about Brevik Robotics AS?", passages) == ()
    assert _lacking("Brevik Robotics has how many employees?", passages, at_least=0) == ()


def test_a_form_of_the_word_in_the_passages_is_not_missing():
    passages = ["Weight 9.4 kg", "Delivery in 2-3 weeks."]
    assert _lacking("How much does it weigh once delivered?", passages, at_least=1) == ()
    assert _lacking("How much does it weigh once shipped?", passages, at_least=1) == ("shipped",)


def test_a_code_whose_digits_the_tokenizer_drops_must_occur_whole():
    # The keyword tokenizer reads "HB-3" as "hb", which the library has (from "HB-2").
    vocabulary = _vocabulary(["The Harbor Base HB-2 charges the robot."])

    def missing(question: str) -> tuple[str, ...]:
        return missing_terms(question, vocabulary.has_related_term, ["unrelated"], rare_below=5.0,
                             has_number=vocabulary.has_number)

    assert missing("What's the price of the Harbor Base HB-3?") == ("hb-3",)
    assert missing("What's the price of the Harbor Base HB-2?") == ()


def test_frame_verbs_never_count_as_missing_from_the_passages():
    passages = ["name: Waterproof wire connectors, 10 pieces\nprice: 9.90"]
    # "cost" and "ten" are both absent, but "cost" is asked as "price": one missing word.
    assert _lacking("How much do ten waterproof wire connectors cost?", passages) == ()


def test_rare_words_that_cannot_name_a_thing_are_paraphrases_not_gaps():
    # Verbs, adjectives, adverbs: the documents say it in other words ("at least 12 months").
    assert _missing("How long do I have to commit to the warranty?") == ()
    assert _missing("Roughly how long does Bluetooth pairing take?") == ()
    assert _missing("Is the Marten M5 X unable to use slopes?") == ()
    # A word that can be noun and adjective gets the benefit of the doubt; a noun does not.
    assert _missing("Is the unknown beacon rated for slopes?") == ()
    assert _missing("Is the beacon's antenna rated for slopes?") == ("antenna",)


def test_names_typed_in_title_case_count_however_common_the_word():
    assert typed_names("What warranty applies in Japan or Germany?") == {"japan", "germany"}
    assert typed_names("Is it OK to rinse the Marten?") == {"marten"}  # "OK" names nothing
    assert typed_names("Warranty in Germany?") == {"germany"}  # the first word never counts
    # "australia" is too common a word to be specific by its frequency; typed as a name it is.
    assert _missing("What warranty applies in Australia?") == ("australia",)
    assert _missing("What warranty applies in australia?") == ()
    assert _missing("What warranty applies in Germany?") == ()
    assert _missing("Is it OK to mount the beacon 2 m high?") == ()
    # With the check off (threshold 0) names do not count either, only words with digits.
    assert _missing("What warranty applies in Australia?", rare_below=0) == ()
