"""ui/untrusted.py: others' text reaches Streamlit's Markdown as inert text.

What the browser makes of it (no <img>, no request) is checked by
tests/browser/test_no_outside_requests.py; here, that nothing Markdown or HTML acts on is left
in the escaped text, and that it still reads the same.
"""

import html
import string

from hypothesis import given
from hypothesis import strategies as st

from ui.untrusted import inert_markdown

IMAGE = "![x](http://images.example.net/x.png)"


def shown(escaped: str, line_break: str = "  \n") -> str:
    return html.unescape(escaped.replace(line_break, "\n"))


def test_an_image_link_and_raw_html_keep_no_syntax():
    escaped = inert_markdown(f'{IMAGE} <img src="http://images.example.net/y.png"> [1]')
    assert not set(escaped) & set("!()[]<>:")
    assert "&" not in escaped.replace("&#", "")  # only numeric references, nothing named
    assert shown(escaped) == f'{IMAGE} <img src="http://images.example.net/y.png"> [1]'


def test_citations_and_words_read_as_before():
    escaped = inert_markdown("Serviced every 19 months [1], filters rinsed [2].")
    assert escaped.startswith("Serviced every 19 months &#91;1&#93;, filters")
    assert shown(escaped) == "Serviced every 19 months [1], filters rinsed [2]."


def test_line_structure_is_kept_but_never_becomes_markup():
    text = "# Not a heading\n- not a list\n\n    not code\n1. not numbered\n---\n|a|b|"
    escaped = inert_markdown(text)
    lines = escaped.split("  \n")
    assert len(lines) == len(text.split("\n"))
    # No line starts with a blank, "#", "-", "|" or a digit and ".": all are references.
    assert all(not line or line[0] not in " \t#-|>" for line in lines)
    assert lines[3].startswith("&#32;&#32;&#32;&#32;not code")
    assert lines[4] == "1&#46; not numbered"
    assert shown(escaped) == text


def test_html_blocks_get_br_line_breaks():
    assert inert_markdown("a<b\r\nc", line_break="<br>") == "a&#60;b<br>c"


def test_streamed_pieces_escape_to_the_whole():
    pieces = ["Look: ", "![x](http://", "images.example.net/x.png", ") [1]"]
    assert "".join(inert_markdown(p) for p in pieces) == inert_markdown("".join(pieces))


@given(st.text(alphabet=string.printable + "é€\u00a0"))
def test_every_text_comes_back_as_written_and_without_markup(text):
    escaped = inert_markdown(text)
    assert not set(escaped) & (set(string.punctuation) - set("&#;.,?'\"/@%"))
    assert shown(escaped) == text.replace("\r", "")
