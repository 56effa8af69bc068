"""The Evaluate page in a real browser: retrieval-only A/B over an uploaded gold set, Cancel, and
a Run clicked while the page's own data/corpus ingest is still going.

Retrieval only, so no LLM is loaded: each test takes the app start, the embedding model and a
few seconds of searching.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.browser.conftest import make_pdf, open_app, screenshot, upload_documents
from tests.ui.conftest import CORPUS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ZEPHYR_MD = CORPUS["zephyr_manual.md"]  # the AppTest corpus document, shared
PDF_NAME = "halvard_k7_service.pdf"
# Shares no word with the PDF (after stopwords and stemming), so BM25 cannot find page 2 and
# dense retrieval can: the one question where the two configurations must differ.
PARAPHRASE = "How frequently does the appliance need a professional inspection?"
GOLD = [
    ("h1", "How often must the Halvard K7 heat pump be serviced?", "every 19 months",
     PDF_NAME, "page 2"),
    ("h2", "What must be removed before switching the unit on?", "the transport brackets",
     PDF_NAME, "page 1"),
    ("h3", PARAPHRASE, "every 19 months", PDF_NAME, "page 2"),
    ("z1", "How much water fits in the Zephyr-9 tank?", "1.7 litres",
     "zephyr_manual.md", "Zephyr-9 coffee machine > Water tank"),
]
SHARE_COLUMNS = ("R@1", "R@5", "R@10", "Hit@5", "MRR@10", "nDCG@10")


def write_gold(path: Path, copies: int = 1) -> Path:
    """The gold set in data/eval/gold.jsonl's format; ``copies`` repeats it under new ids."""
    lines = []
    for n in range(copies):
        for qid, question, answer, source, locator in GOLD:
            lines.append(json.dumps({
                "id": qid if copies == 1 else f"{qid}-{n}",
                "question": question,
                "answer": answer,
                "aliases": [],
                "relevant": [{"source": source, "locator": locator}],
                "answerable": True,
            }))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def open_tall(browser, url: str):
    """The app in a window tall enough for the whole results, so screenshots need no resize
    (a resize makes the grid redraw from blank)."""
    page = open_app(browser, url)
    page.set_viewport_size({"width": 1400, "height": 2000})
    return page


def main_area(page):
    return page.get_by_test_id("stMain")


def pick(page, key: str, option: str) -> None:
    """Choose ``option`` in the selectbox with widget key ``key``."""
    page.locator(f".st-key-{key}").get_by_test_id("stSelectbox").click()
    page.get_by_role("option", name=option, exact=True).click()


def set_limit(page, n: int) -> None:
    """Type the number of questions; Enter commits it (every later click sends it along)."""
    from playwright.sync_api import expect

    box = page.locator(".st-key-eval_limit input")
    box.fill(str(n))
    box.press("Enter")
    expect(box).to_have_value(str(n))


def wait_for_plan(page, text: str) -> None:
    """Wait until the page's "Run asks ..." line reads ``text``: every change made so far has
    reached the app, so the next click does not race them."""
    main_area(page).get_by_text(f"Run asks {text}").wait_for()


def wait_for_results(page, differ_line: str) -> None:
    """Wait until the results are drawn whole: chart, grid, and the button below them."""
    main = main_area(page)
    main.get_by_text(differ_line).wait_for()
    main.get_by_test_id("stVegaLiteChart").locator("canvas, svg").first.wait_for()
    main.get_by_test_id("stDataFrame").last.locator("table[role=grid]").wait_for(
        state="attached")
    page.locator(".st-key-eval_clear button").wait_for()


def metrics_table(page) -> dict[str, dict[str, str]]:
    """The Metrics table as the user reads it: config -> column -> cell text."""
    table = main_area(page).get_by_test_id("stTable").locator("table")
    table.wait_for()
    header = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    rows = {}
    for row in table.locator("tbody tr").all():
        cells = [c.strip() for c in row.locator("th, td").all_inner_texts()]
        rows[cells[0]] = dict(zip(header[1:], cells[1:], strict=True))
    return rows


def diff_rows(page) -> list[list[str]]:
    """The per-question grid, header first, as cell texts. The grid draws on a canvas; its
    accessible table (what a screen reader reads) carries the same cells."""
    table = main_area(page).get_by_test_id("stDataFrame").last.locator("table[role=grid]")
    table.wait_for(state="attached")
    return table.locator("tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent.trim()))")


def test_ab_retrieval_over_an_uploaded_gold_set_then_cancel_and_run_again(
    browser, app_url, tmp_path
):
    from playwright.sync_api import expect

    pdf = make_pdf(tmp_path / PDF_NAME)
    markdown = tmp_path / "zephyr_manual.md"
    markdown.write_text(ZEPHYR_MD, encoding="utf-8")
    page = open_tall(browser, app_url)
    upload_documents(page, [pdf, markdown])

    page.get_by_role("link", name="Evaluate").click()
    main = main_area(page)
    main.get_by_text("Retrieval only (no LLM, fast)").click()
    main.get_by_text("Upload a JSONL file").click()
    page.locator(".st-key-eval_gold_upload input[type=file]").set_input_files(
        str(write_gold(tmp_path / "small_gold.jsonl")))
    # The upload's chip: exact, since the plan line below it names the file too.
    main.get_by_text("small_gold.jsonl", exact=True).wait_for()
    pick(page, "eval_A_mode", "bm25")
    pick(page, "eval_B_mode", "dense")
    set_limit(page, len(GOLD))
    wait_for_plan(page, f"{len(GOLD)} questions from small_gold.jsonl with A (bm25 retrieval) "
                  f"and B (dense retrieval): {2 * len(GOLD)} searches.")
    screenshot(page, "07_evaluate_form.png")

    page.locator(".st-key-eval_run_button button").click()
    main.get_by_text(f"Done: {len(GOLD)} questions from small_gold.jsonl").wait_for()
    wait_for_results(page, f"of {len(GOLD)} questions differ")
    screenshot(page, "08_evaluate_results.png")

    metrics = metrics_table(page)
    assert set(metrics) == {"A", "B"}, metrics
    assert metrics["A"]["setup"] == "bm25 retrieval"
    assert metrics["B"]["setup"] == "dense retrieval"
    assert metrics["A"]["questions"] == metrics["B"]["questions"] == str(len(GOLD))
    for config in ("A", "B"):
        for column in SHARE_COLUMNS:
            assert 0.0 <= float(metrics[config][column]) <= 1.0, (config, column, metrics)
    # Dense finds every question's passage in this four-chunk corpus; BM25 misses the
    # paraphrase, and the table says so.
    assert float(metrics["B"]["R@10"]) == 1.0
    assert float(metrics["A"]["R@10"]) == pytest.approx(0.75, abs=0.01)

    chart = main.get_by_test_id("stVegaLiteChart")
    chart.locator("canvas, svg").first.wait_for()
    assert chart.bounding_box()["height"] > 100

    header, *rows = diff_rows(page)
    assert header[:6] == ["id", "question", "rank A", "rank B", "top hit A", "top hit B"]
    assert sorted(row[1] for row in rows) == sorted(q for _, q, *_ in GOLD)
    paraphrase = next(dict(zip(header, row, strict=False)) for row in rows if row[1] == PARAPHRASE)
    assert paraphrase["rank A"] == "–" and paraphrase["top hit A"] == "(nothing found)"
    assert paraphrase["rank B"].isdigit() and "page 2" in paraphrase["top hit B"]
    assert main.get_by_text(re.compile(r"\d of 4 questions differ")).is_visible()

    # Cancel: a longer run over the same questions repeated, stopped as soon as it started.
    page.locator(".st-key-eval_gold_upload input[type=file]").set_input_files(
        str(write_gold(tmp_path / "long_gold.jsonl", copies=15)))
    main.get_by_text("long_gold.jsonl", exact=True).wait_for()
    set_limit(page, 60)
    wait_for_plan(page, "60 questions from long_gold.jsonl with A (bm25 retrieval) and B (dense "
                  "retrieval): 120 searches.")
    page.locator(".st-key-eval_run_button button").click()
    # Cancel once a few searches are in, so there is something to compare.
    main.get_by_text(re.compile(r"^([4-9]|\d\d+) of 120 searches")).wait_for()
    screenshot(page, "09a_evaluate_running.png")
    page.locator(".st-key-eval_cancel button").click()
    cancelled = main.get_by_text(re.compile(r"Cancelled after \d+ of 120 searches"))
    cancelled.wait_for()
    searched = int(re.search(r"after (\d+) of", cancelled.inner_text()).group(1))
    assert 4 <= searched < 120
    wait_for_results(page, f"of {searched // 2} questions differ")
    screenshot(page, "09_evaluate_cancelled.png")
    expect(page.locator(".st-key-eval_cancel")).to_have_count(0)
    # Like for like: only the questions both configurations were asked are scored.
    assert metrics_table(page)["A"]["questions"] == str(searched // 2)

    # The app still works: the next run completes.
    set_limit(page, 4)
    wait_for_plan(page, "4 questions from long_gold.jsonl with A (bm25 retrieval)")
    page.locator(".st-key-eval_run_button button").click()
    main.get_by_text("Done: 4 questions from long_gold.jsonl").wait_for()
    metrics = metrics_table(page)
    assert metrics["B"]["questions"] == "4"
    assert (metrics["A"]["setup"], metrics["B"]["setup"]) == ("bm25 retrieval", "dense retrieval")


def test_run_clicked_while_the_corpus_ingest_runs_waits_for_it(browser, app_url):
    from playwright.sync_api import expect

    page = open_tall(browser, app_url)
    page.get_by_role("link", name="Evaluate").click()
    main = main_area(page)
    main.get_by_text("Retrieval only (no LLM, fast)").click()
    offer = main.get_by_text(re.compile(r"does not hold \d+ of the \d+ files"))
    offer.wait_for()
    pick(page, "eval_A_mode", "bm25")
    pick(page, "eval_B_mode", "hybrid")
    set_limit(page, 3)
    wait_for_plan(page, "3 questions from gold.jsonl with A (bm25 retrieval) and B (hybrid "
                  "retrieval): 6 searches.")

    # Run is off while the gold set's documents are missing: Ingest first, then Run as soon
    # as the ingest shows, while it has barely started. (Not sooner: clicked while the page
    # re-lays out, Run can move from under the pointer and the click lands on nothing.)
    run_button = page.locator(".st-key-eval_run_button button")
    expect(run_button).to_be_disabled()
    page.locator(".st-key-eval_ingest_corpus button").click()
    main.get_by_text("Ingesting data/corpus").wait_for()
    expect(run_button).to_be_enabled()
    run_button.click()
    waiting = main.get_by_text("Waiting for the data/corpus ingest to finish")
    waiting.wait_for()
    # Checked once, at once (no retrying expect): the page that shows the run never shows the
    # form it was started from still enabled.
    assert run_button.is_disabled()
    screenshot(page, "10_evaluate_run_waits_for_ingest.png")
    # The ingest is not lost: it is shown (running, or done by now), never offered again.
    assert main.get_by_text("Ingesting data/corpus").or_(
        main.get_by_text("data/corpus ingested")).first.is_visible()
    expect(page.locator(".st-key-eval_ingest_corpus")).to_have_count(0)

    main.get_by_text("Done: 3 questions from gold.jsonl").wait_for(timeout=300_000)
    wait_for_results(page, "of 3 questions differ")
    screenshot(page, "11_evaluate_after_ingest.png")
    assert main.get_by_text(re.compile(r"data/corpus ingested \(\d+ ingested, 0 unchanged, "
                                       r"0 failed")).is_visible()
    assert offer.count() == 0
    # Every question was searched in the full corpus, none in an empty or half-filled one.
    _, *rows = diff_rows(page)
    assert len(rows) == 3, rows
    assert not any("(nothing found)" in row for row in rows), rows
    metrics = metrics_table(page)
    assert float(metrics["B"]["Hit@5"]) > 0, metrics
