"""Text the app does not write itself, made inert for Streamlit's Markdown.

Questions, model replies, chat titles, document titles, snippets, file names and error
messages that quote them are data. Streamlit renders Markdown in ``st.markdown``, captions,
headers, alerts, toasts and button and expander labels: there an image link
``![x](http://host/x.png)`` makes every viewer's browser fetch that address, and links,
headings, tables, LaTeX (``$``), colour directives (``:red[...]``) or raw HTML change what the
text says. :func:`inert_markdown` is the one way such text reaches those calls.
"""

from __future__ import annotations

import string

# ASCII punctuation as numeric character references. A reference is never read as Markdown
# structure (CommonMark: "entity and numeric character references cannot be used in place of
# symbols indicating structure"), it displays as the character itself, and it means the same
# inside an HTML block as in Markdown text, so one escape serves both. Left as they are:
# characters that start nothing in Markdown, Streamlit or HTML text (a "." only does after a
# line's digits, handled below), so words and sentences stay as written.
_PLAIN = set(".,;?'\"/@%")
_INERT = {ord(c): f"&#{ord(c)};" for c in string.punctuation if c not in _PLAIN}
_INERT[ord("\r")] = None
_INDENT = {ord(" "): "&#32;", ord("\t"): "&#9;"}
_MAX_LIST_DIGITS = 9  # CommonMark: an ordered list marker has at most nine digits


def inert_markdown(text: str, *, line_break: str = "  \n") -> str:
    """``text`` for Streamlit Markdown, shown exactly as written: no link, image, heading,
    list, table, code block, LaTeX, directive or HTML of its own; "[1]" still reads "[1]".

    Line breaks are kept as Markdown hard breaks; pass ``line_break="<br>"`` inside an HTML
    block (``unsafe_allow_html``), where a blank line would end the block. Each piece of a
    streamed reply can be escaped on its own: the escape is per character, and a piece's
    start is treated as a line's (which only escapes a little more).
    """
    return line_break.join(_inert_line(line) for line in text.translate(_INERT).split("\n"))


def _inert_line(line: str) -> str:
    # Blanks opening a line would indent it into a code block, where references show raw;
    # as references they are text and still display as blanks. "12." opening a line would
    # number a list.
    body = line.lstrip(" \t")
    indent = line[: len(line) - len(body)].translate(_INDENT)
    digits = len(body) - len(body.lstrip("0123456789"))
    if 0 < digits <= _MAX_LIST_DIGITS and body[digits : digits + 1] == ".":
        body = f"{body[:digits]}&#46;{body[digits + 1:]}"
    return indent + body
