"""Running heads and feet of PDF pages are dropped, kept once; the pages' own text stays."""

from ingest.pdf_running import drop_running_lines


def _book(pages: int) -> list[str]:
    out = []
    for n in range(1, pages + 1):
        head = f"Field Guide 2.1 {n}" if n % 2 else f"{n} Field Guide 2.1"
        out.append(f"{head}\n\nPage {n} describes bird number {n * 7}.\n\n"
                   f"Printed 2024 · sheet {n + 4}")
    return out


def test_heads_and_feet_that_repeat_with_the_page_number_are_dropped_but_once():
    pages, running = drop_running_lines(_book(9))
    assert pages[0].startswith("Field Guide 2.1 1")  # first odd head kept
    assert pages[1].startswith("2 Field Guide 2.1")  # first even head kept
    assert pages[2].startswith("Page 3 describes")
    assert pages[3].startswith("Page 4 describes")
    # The foot's numbers are constant or move with the page: kept on page 1 only.
    assert pages[0].endswith("Printed 2024 · sheet 5")
    assert all("Printed" not in p for p in pages[1:])
    # The first line of the text has the same shape on every page, but its figure is not
    # the page's: it is text.
    assert all(f"bird number {(i + 1) * 7}" in p for i, p in enumerate(pages))
    # What a dropped head or foot said, without the page number, is the page's context.
    assert running[0] == "" and running[2] == "Field Guide 2.1 · Printed 2024 · sheet"


def test_a_line_on_fewer_than_three_pages_is_text():
    pages = ["Introduction\n\nWhy birds sing.", "Introduction\n\nHow they learn.",
             "Methods\n\nWe listened."]
    assert drop_running_lines(pages)[0] == pages


def test_lines_without_letters_or_digits_and_long_lines_stay():
    long_line = "A sentence long enough to be running text rather than a head, " * 3
    pages = [f"}}\n\n{long_line}\n\ncode {n}" for n in range(5)]
    out, _ = drop_running_lines(pages)
    assert all(p.startswith("}") for p in out)
    assert all(long_line.strip() in p for p in out)


def test_pages_without_text_stay_empty():
    assert drop_running_lines(["", "x", ""])[0] == ["", "x", ""]


def test_a_page_that_is_one_line_keeps_it():
    pages = [f"Text on page {n}." for n in range(1, 6)]
    assert drop_running_lines(pages)[0] == pages
