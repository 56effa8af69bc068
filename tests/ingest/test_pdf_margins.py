"""Running heads and feet: the lines repeated at the edges of page after page are found, content
lines are not; a PDF's pages record theirs, and a page without an outline entry is named by
its head."""

from ingest import chunk_units
from ingest.pdf import parse_pdf
from ingest.pdf_margins import read_margins
from ingest.records import RUNNING_KEY
from tests.data.make_test_files import _pdf

BODY = [
    "The keeper lights the lamp at dusk and trims the wick at midnight.",
    "Oil is carried up the stairs in two brass cans every morning.",
    "The fog bell is rung every thirty seconds while the horn is repaired.",
    "Visitors sign the log book at the foot of the tower before climbing.",
    "Spare lenses are kept wrapped in felt inside the cedar chest.",
]


def _page(number: int, body: str, head: str = "Lighthouse Manual 2.1") -> str:
    return f"{head}\n\n{body}\n\n{number}"


def test_a_head_and_a_page_number_on_every_page_are_running_after_the_first_page():
    pages = [_page(n, body) for n, body in enumerate(BODY, start=1)]
    running = read_margins(pages).running
    assert running[0] == ()  # on the first page it stands on, a line is content
    assert running[1:] == [("Lighthouse Manual 2.1", str(n)) for n in range(2, 6)]


def test_heads_that_alternate_between_left_and_right_pages_are_running_too():
    heads = ["12 Chapter 3. Lamps", "Chapter 3. Lamps 13"]
    pages = [f"{heads[n % 2]}\n\n{body}" for n, body in enumerate(BODY * 2)]
    running = read_margins(pages).running
    assert running[:2] == [(), ()]
    assert running[2:] == [(heads[n % 2],) for n in range(2, 10)]


def test_a_content_line_that_opens_a_few_pages_of_a_long_document_is_not():
    names = [f"{colour} {thing}" for colour in ("red", "green", "blue", "white", "amber")
             for thing in ("lamp", "lens", "bell", "horn", "wick", "cask", "rope", "mast")]
    pages = [f"All about the {name}.\nThe {name} is kept clean." for name in names]
    for n in (3, 17, 35):
        pages[n] = "Syntax:\n    set lamp <on|off>\n" + pages[n]
    assert read_margins(pages).running == [()] * len(pages)


def test_a_repeated_line_inside_a_page_is_not():
    pages = [f"Notes {n}\nFirst line.\nCheck the wick.\nTrim it.\nLast line one.\nLast one."
             for n in range(6)]
    running = read_margins(pages).running
    assert all("Check the wick." not in lines and "Trim it." not in lines for lines in running)
    assert running[1:] == [(f"Notes {n}", "First line.", "Last line one.", "Last one.")
                           for n in range(1, 6)]


def test_a_page_of_nothing_but_a_running_line_keeps_it_as_its_text():
    pages = [f"Slide {n}" for n in range(1, 6)]
    assert read_margins(pages).running == [()] * 5


def test_two_pages_are_too_few_to_tell_a_running_line():
    pages = [_page(1, BODY[0]), _page(2, BODY[1])]
    assert read_margins(pages).running == [(), ()]


def test_each_page_is_named_by_its_most_specific_head_without_its_page_number():
    chapters = ["Chapter 1: Lamps"] * 4 + ["Chapter 2: Bells"] * 4
    pages = [f"Lighthouse Manual\n{head} {n}\n\n{BODY[n % 5]}\n\n{n}"
             for n, head in enumerate(chapters, start=1)]
    # The manual's name stands on every page and names no part; page numbers name nothing.
    assert read_margins(pages).heads == chapters


def test_pdf_pages_record_their_running_lines_and_keep_their_text(limits):
    pages = [["Lighthouse Manual 2.1", body, "", f"Page {n}"]
             for n, body in enumerate(BODY, start=1)]
    parsed = parse_pdf(_pdf(pages, "Lighthouse manual"), "manual.pdf", limits)
    assert [u.metadata["page"] for u in parsed.units] == [1, 2, 3, 4, 5]
    assert RUNNING_KEY not in parsed.units[0].metadata
    for n, unit in enumerate(parsed.units[1:], start=2):
        assert unit.metadata[RUNNING_KEY] == f"Lighthouse Manual 2.1\nPage {n}"
        assert unit.page_content.startswith("Lighthouse Manual 2.1")
    chunks = chunk_units(parsed, source="manual.pdf", doc_id="d1",
                         length_function=lambda t: len(t.split()), chunk_tokens=60,
                         overlap_tokens=0)
    assert chunks[1].metadata[RUNNING_KEY] == "Lighthouse Manual 2.1\nPage 2"


def test_a_pdf_without_an_outline_takes_its_sections_from_the_running_heads(limits):
    heads = ["Chapter 1: Lamps"] * 3 + ["Chapter 2: Bells"] * 3
    pages = [[f"{head} {n}", BODY[(n - 1) % 5]] for n, head in enumerate(heads, start=1)]
    parsed = parse_pdf(_pdf(pages, "Lighthouse manual"), "manual.pdf", limits)
    assert [u.metadata.get("section") for u in parsed.units] == heads
