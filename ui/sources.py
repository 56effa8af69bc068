"""Sources under an answer: number, document, locator, score and the highlighted snippet.

Document text is data: every title, locator, header and snippet goes through
:func:`ui.untrusted.inert_markdown`, and the only markup in a snippet is our own ``<mark>``. The
snippet is a single HTML block (newlines become ``<br>``, as a blank line would end the block).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

import streamlit as st

from rag.answer.reply import Source
from ui.untrusted import inert_markdown

_SNIPPET_STYLE = (
    "font-size:0.88rem;line-height:1.5;color:#3a3f51;background:#fafbfd;"
    "border-left:3px solid #c7cbe0;padding:0.5rem 0.75rem;border-radius:4px;"
    "white-space:normal;overflow-wrap:anywhere"
)
_MARK_STYLE = "background:#fde68a;padding:0 2px;border-radius:2px"
# The sentence the reply rests on: a stronger mark than the rest of what the model was shown.
_ANSWER_STYLE = "background:#fbbf24;padding:0 2px;border-radius:2px;font-weight:600"
OCR_NOTE = ("Text read by OCR from a scanned page (no text layer): words may be misread; "
            "check the page itself.")


def _snippet_text(text: str) -> str:
    return inert_markdown(text, line_break="<br>")


def highlighted_snippet_html(
    text: str, spans: Sequence[tuple[int, int]], answer: tuple[int, int] | None = None
) -> str:
    """The snippet as escaped HTML with the given character spans wrapped in ``<mark>``, and
    the ``answer`` span (the sentence the reply rests on) marked more strongly."""
    marks = [(s, e, _MARK_STYLE) for s, e in _merged(spans, len(text))
             if answer is None or not (s < answer[1] and answer[0] < e)]
    if answer is not None:
        # Shown passages overlapping the answer give way to it: one mark per stretch of text.
        marks += [(s, e, _ANSWER_STYLE) for s, e in _merged([answer], len(text))]
    pieces: list[str] = []
    cursor = 0
    for start, end, style in sorted(marks):
        if start < cursor:
            continue
        pieces.append(_snippet_text(text[cursor:start]))
        pieces.append(f'<mark style="{style}">{_snippet_text(text[start:end])}</mark>')
        cursor = end
    pieces.append(_snippet_text(text[cursor:]))
    return f'<div class="rag-snippet" style="{_SNIPPET_STYLE}">{"".join(pieces)}</div>'


def _merged(spans: Sequence[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        start, end = max(0, start), min(length, end)
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def document_name(source: Source) -> str:
    return source.title or PurePath(source.source).name or source.source or "document"


def source_label(source: Source, cited: bool) -> str:
    """Expander label: plain text (Streamlit renders labels as Markdown, so escape it)."""
    where = f" · {source.locator}" if source.locator else ""
    mark = " · cited" if cited else ""
    label = f"[{source.number}] {document_name(source)}{where} · score {source.score:.2f}{mark}"
    return inert_markdown(label)


def render_sources(sources: Sequence[Source], cited: Sequence[int] = ()) -> None:
    if not sources:
        return
    cited_set = set(cited)
    # Cited sources first: they are what the answer's [n] markers point at.
    ordered = sorted(sources, key=lambda s: (s.number not in cited_set, s.number))
    st.caption(f":material/library_books: {len(sources)} sources")
    for source in ordered:
        with st.expander(source_label(source, source.number in cited_set)):
            if source.header:
                st.caption(inert_markdown(source.header))
            st.markdown(
                highlighted_snippet_html(source.snippet, source.highlights, source.answer_span),
                unsafe_allow_html=True,
            )
            meta = [PurePath(source.source).name if source.source else "",
                    source.format.upper()]
            st.caption(inert_markdown(" · ".join(m for m in meta if m)))
            if source.ocr:
                st.caption(f":material/document_scanner: {OCR_NOTE}")
