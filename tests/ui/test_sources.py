"""The snippet under an answer: what the model saw is marked, the answering sentence more so."""

import html
import re

from ui.sources import highlighted_snippet_html

TEXT = "The lamp is lit at dusk. It runs on 12 V. Spare bulbs are sold separately."
_MARK = re.compile(r'<mark style="([^"]*)">(.*?)</mark>')


def _marks(snippet: str) -> list[tuple[bool, str]]:
    """(strong?, text) of each mark, the text unescaped."""
    return [("font-weight:600" in style, html.unescape(text))
            for style, text in _MARK.findall(snippet)]


def test_shown_passages_are_marked_and_the_answer_more_strongly():
    snippet = highlighted_snippet_html(TEXT, [(0, 24), (25, 41)], answer=(25, 41))
    assert _marks(snippet) == [(False, "The lamp is lit at dusk."), (True, "It runs on 12 V.")]
    assert html.unescape(snippet).endswith("Spare bulbs are sold separately.</div>")


def test_answer_span_alone_and_document_markup_stays_text():
    snippet = highlighted_snippet_html("<b>x</b> ![i](http://example.invalid/i.png)", [],
                                       answer=(0, 8))
    assert _marks(snippet) == [(True, "<b>x</b>")]
    assert "<b>" not in snippet and "![i]" not in snippet


def _render_ocr_and_plain_sources() -> None:
    from rag.answer.reply import Source
    from ui.sources import render_sources

    common = dict(doc_id="d", title="", format="pdf", score=0.5, highlights=(), chunk_id="c")
    render_sources([
        Source(number=1, source="scans/lease.pdf", locator="page 2", snippet="The deposit.",
               ocr=True, **common),
        Source(number=2, source="manual.pdf", locator="page 1", snippet="Text layer.", **common),
    ])


def test_a_source_read_by_ocr_says_so():
    from streamlit.testing.v1 import AppTest

    from ui.sources import OCR_NOTE

    app = AppTest.from_function(_render_ocr_and_plain_sources).run()
    assert not app.exception
    expanders = app.expander
    notes = [[c.value for c in expander.caption] for expander in expanders]
    assert any(OCR_NOTE in caption for caption in notes[0])
    assert not any(OCR_NOTE in caption for caption in notes[1])
