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
