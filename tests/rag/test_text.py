"""One normaliser: the words every step compares, and the same match in each of them."""

from rag.answer.context import Passage
from rag.answer.grounding import check_grounding
from rag.text import (
    STOPWORDS,
    content_words,
    open_compound,
    surface_words,
    term_overlap,
    terms,
    written_literals,
)


def test_content_words_drop_stop_words_and_keep_codes():
    assert content_words("What does error E104 mean for the Aurora X2?") == [
        "error",
        "e104",
        "mean",
        "aurora",
        "x2",
    ]


def test_terms_are_stems_so_forms_of_a_word_match():
    assert terms("The lamp stays lit") == terms("lamps stay lit") == ["lamp", "stay", "lit"]
    # "stay" and "lit" of the question's "long", "lamp", "stay", "lit".
    assert term_overlap(terms("How long does the lamp stay lit?"), "It stays lit for 4 hours.") \
        == 0.5


def test_terms_keep_versions_and_one_digit_numbers_but_drop_function_words():
    assert terms("Which release was 7.1?") == ["releas", "7.1"]
    assert "3" in terms("The default is 3.")
    assert not STOPWORDS & {"not", "no", "nor"}  # negations change what an answer says
    assert terms("It is not sealed") == ["not", "seal"]


def test_surface_words_name_a_term_as_written():
    assert surface_words("Thermostats, please")["thermostat"] == "Thermostats"


def test_grounding_and_overlap_use_the_same_match():
    passage = Passage(1, "The lamp stays lit for 4 hours on one charge.", 0.9, 0, 46)
    # "stayed" and "stays" are one term: the answer's words are in the passage.
    verdict = check_grounding("It stayed lit for 4 hours [1]", [passage],
                              question="How long is the lamp lit?", min_support=0.6)
    assert verdict.supported, verdict.reason
    assert term_overlap(terms("stayed lit"), passage.text) == 1.0


def test_open_compound_finds_the_word_written_apart_only_where_both_parts_are_known():
    known = {"file", "name", "time", "zone"}.__contains__
    pattern = open_compound("Filenames", known)
    assert pattern is not None
    assert pattern.search("Each file name is unique.")
    assert pattern.search("the file-names of the archive")
    assert not pattern.search("Each filename is unique.")  # written closed: the terms match it
    assert not pattern.search("a profile named x")  # "file" inside another word
    assert open_compound("timezone", known).search("time zones")
    assert open_compound("namespace", known) is None  # "space" is not a known term
    assert open_compound("e104", known) is None and open_compound("zone", known) is None


def test_open_compound_pattern_is_linear_on_hostile_text():
    import time

    pattern = open_compound("aaaaaa", {"aaa"}.__contains__)
    text = "aaa " * 50_000
    start = time.perf_counter()
    pattern.search(text + "!")
    # A backtracking pattern would take minutes on this; a linear one well under a second.
    assert time.perf_counter() - start < 5


def test_written_literals_hold_the_codes_inside_a_snake_case_name():
    assert written_literals("ISO_4217 and ngx_http_v2_module") == [
        "iso_4217", "4217", "ngx_http_v2_module", "v2"]
    # Dots and hyphens join a version's or a date's parts; a one-character part is no code.
    assert written_literals("4.3.0 on 2024-11-21, utf_8") == ["4.3.0", "2024-11-21", "utf_8"]
