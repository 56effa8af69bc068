"""Context selection splits chunks into sentences and keeps their citation numbers."""

from rag.context import Passage, content_words, format_context, split_sentences


def test_sentences_and_lines_are_split_with_exact_spans():
    text = "First sentence here. Second one!\ncode: E104\n\n  message: Tank empty"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "First sentence here.",
        "Second one!",
        "code: E104",
        "message: Tank empty",
    ]


def test_decimal_numbers_do_not_end_sentences():
    text = "It needs 1.21 gigawatts. Then it flies."
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "It needs 1.21 gigawatts.",
        "Then it flies.",
    ]


def test_content_words_drop_stop_words_and_keep_codes():
    assert content_words("What does error E104 mean for the Aurora X2?") == [
        "error",
        "e104",
        "mean",
        "aurora",
        "x2",
    ]


def test_format_context_numbers_each_passage():
    passages = [Passage(2, "B.", 0.1, 0, 2), Passage(1, "A.", 0.2, 0, 2)]
    assert format_context(passages) == "[2] B.\n[1] A."
