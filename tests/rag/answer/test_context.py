"""Context selection splits chunks into sentences and keeps their citation numbers."""

from rag.answer.context import (
    RECORD_PASSAGE_CHARS,
    Passage,
    format_context,
    merge_short_spans,
    passage_spans,
    split_sentences,
)


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


def test_format_context_numbers_each_passage():
    passages = [Passage(2, "B.", 0.1, 0, 2), Passage(1, "A.", 0.2, 0, 2)]
    assert format_context(passages) == "[2] B.\n[1] A."


def test_short_lines_are_joined_with_the_sentence_that_follows():
    text = "Step 1: Mount the beacon\nMount it 1.8 m above the ground, away from metal walls."
    spans = merge_short_spans(split_sentences(text))
    assert [text[s:e] for s, e in spans] == [text]


def test_long_sentences_stay_apart_and_a_trailing_short_one_is_kept():
    text = "A" * 70 + ". " + "B" * 70 + ". End."
    assert [e - s for s, e in merge_short_spans(split_sentences(text))] == [71, 71, 4]


RECORD = (
    "@id: BR-1050\nname: Harbor Base power supply 28 V\nfits: Harbor Base HB-2\n"
    "price: 59.00\nprice/@currency: EUR\navailability: In stock"
)


def test_a_short_record_is_one_passage_and_prose_is_split():
    from langchain_core.documents import Document

    # Line by line, "price: 59.00" shares no word with "What does the power supply cost?".
    record = Document(f"  {RECORD}\n", metadata={"format": "xml"})
    [(start, end)] = passage_spans(record)
    assert record.page_content[start:end] == RECORD
    # The same lines as prose, or a record too long to hand over whole, are split.
    assert len(passage_spans(Document(RECORD, metadata={"format": "markdown"}))) > 1
    long_record = "\n".join([RECORD] * (RECORD_PASSAGE_CHARS // len(RECORD) + 1))
    assert len(passage_spans(Document(long_record, metadata={"format": "json"}))) > 1


def test_a_line_that_is_the_chunks_heading_is_no_passage():
    from langchain_core.documents import Document

    text = ("Charging the Trailblazer\n\nA full charge takes about two hours from an ordinary wall "
            "socket.\n\nStorage\n\nKeep it somewhere dry and away from frost and sunlight.")
    chunk = Document(text, metadata={"format": "html", "title": "Trailblazer Manual",
                                     "section": "Power › Charging the Trailblazer ¶"})
    passages = [text[s:e] for s, e in passage_spans(chunk)]
    # The heading is in the source's header already: not quoted, not glued to what follows.
    assert passages[0] == "A full charge takes about two hours from an ordinary wall socket."
    assert all("Charging the Trailblazer" not in p for p in passages)
    # A short line that is not the chunk's heading still leads the sentence after it.
    assert "Storage\n\nKeep it somewhere dry and away from frost and sunlight." in passages
    # Without a section, the first line is glued to the next sentence as before.
    plain = Document(text, metadata={"format": "html"})
    assert text[slice(*passage_spans(plain)[0])].startswith("Charging the Trailblazer")


def test_a_heading_that_states_a_version_or_date_stays_a_passage():
    from langchain_core.documents import Document

    # A changelog entry's heading holds what its lines do not repeat: the version and date.
    text = ("Release 4.2.0 (03 Mar 2021)\n\n"
            "* Feature: the pump reports its pressure over the serial port.\n"
            "* Bugfix: the timer no longer drifts after a restart of the controller.")
    chunk = Document(text, metadata={"format": "text", "title": "CHANGES",
                                     "section": "Release 4.2.0 (03 Mar 2021)"})
    passages = [text[s:e] for s, e in passage_spans(chunk)]
    assert passages[0].startswith("Release 4.2.0 (03 Mar 2021)")
    assert "the pump reports its pressure" in passages[0]
    # Its own section number, or digits inside a word, are no such statement.
    for heading in ("2.3.1 Wiring", "E.7 Pumps with x11 ports", "Using 2d plots"):
        body = f"{heading}\n\nThe housing is filled with water before the pump starts."
        numbered = Document(body, metadata={"format": "html", "section": heading})
        assert [body[s:e] for s, e in passage_spans(numbered)] == [
            "The housing is filled with water before the pump starts."]


def test_table_of_contents_entries_are_no_passages():
    from langchain_core.documents import Document

    text = ("Contents\n"
            "2 Wiring the pump . . . . . . . . . . . . . . . . 14\n"
            "3 Priming ...................................... 17\n"
            "The pump is primed by filling the housing with water. Wait... then start it.\n"
            "See step 4. . . and the note.")
    passages = [text[s:e] for s, e in passage_spans(Document(text, metadata={"format": "pdf"}))]
    assert not any("Wiring the pump" in p or "Priming ...." in p for p in passages)
    assert any("The pump is primed by filling the housing" in p for p in passages)
    # Dots inside a sentence or an ellipsis are no leader.
    assert any("Wait..." in p for p in passages) and any("See step 4" in p for p in passages)


def test_contents_entry_check_is_linear_on_hostile_text():
    from rag.answer.context import _is_contents_entry

    assert _is_contents_entry(". " * 200_000 + "9" * 200_000)
    assert not _is_contents_entry(". " * 200_000 + "x")


def test_a_sentence_is_read_under_its_sections_heading(embeddings):
    from langchain_core.documents import Document

    from rag.answer.context import score_sentences

    text = "TRAIL_TIMEOUT\n\nDefault: 45 (seconds).\n\nThe setting is read once at start-up."
    other = "Default: 10 (seconds).\n\nThe setting is read once at start-up."
    chunks = [Document(other, metadata={"format": "html", "section": "Settings › PATH_DEPTH"}),
              Document(text, metadata={"format": "html", "section": "Settings › TRAIL_TIMEOUT"})]
    ranked = score_sentences("What is the default TRAIL_TIMEOUT?", chunks, embeddings)
    best = ranked[0]
    # The same words under two headings: the one under the asked-for heading wins, and the
    # quote starts with the sentence (the heading line itself is no passage).
    assert best.number == 2 and best.text.startswith("Default: 45 (seconds).")
    assert best.heading == "TRAIL_TIMEOUT" and best.read_as.startswith("TRAIL_TIMEOUT: ")
    assert all(p.text != "TRAIL_TIMEOUT" for p in ranked)


def test_a_pages_running_heads_and_feet_are_no_passages():
    from langchain_core.documents import Document

    from ingest.records import RUNNING_KEY

    text = ("Pump Manual 3.2 41\n\nPriming\n\nFill the housing with water before the first "
            "start.\n\nA line that repeats Pump Manual 3.2 41 inside a sentence stays.\n\n41")
    chunk = Document(text, metadata={"format": "pdf", RUNNING_KEY: "Pump Manual 3.2 41\n41"})
    passages = [text[s:e] for s, e in passage_spans(chunk)]
    # The short heading leads the sentence after it, as without running lines, but the head
    # above it no longer does, and the page number at the foot is no passage of its own.
    assert passages[0] == "Priming\n\nFill the housing with water before the first start."
    assert passages[-1] == "A line that repeats Pump Manual 3.2 41 inside a sentence stays."
    assert text[slice(*passage_spans(Document(text, metadata={"format": "pdf"}))[0])] \
        .startswith("Pump Manual 3.2 41")
