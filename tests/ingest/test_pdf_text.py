"""Line classification of PDF text: dot leaders (table of contents, index) are not prose."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.pdf_text import has_dot_leader

# The pattern before it was made linear: "\s*" before a class holding " " was quadratic.
_OLD_DOT_LEADER = re.compile(r"(?:\. ){4}|\.{6}|(?:\. ){2}\.\s*[\d, –-]+$")


@pytest.mark.parametrize(("line", "expected"), [
    ("\\color . . . . . . . . 12, 15", True),
    ("Installation........ 4", True),
    ("Warranty . . . 7–9", True),
    ("It ends here. . . and goes on.", False),
    ("An ordinary sentence, with a number 12.", False),
])
def test_dot_leaders_are_recognised(line, expected):
    assert has_dot_leader(line) is expected


# No wall-clock bound: a quadratic scan of these lines would run far past the timeout.
@pytest.mark.timeout(60)
@pytest.mark.parametrize(("line", "expected"), [
    ("x . . ." + " " * 200_000 + "y", False),
    ("x . . . 1" + " " * 200_000 + "y", False),
    ("x . . ." + " " * 200_000 + "12", True),
    ("x . . . " * 100_000 + "z", False),
])
def test_long_blank_runs_after_dots_are_scanned_in_linear_time(line, expected):
    assert has_dot_leader(line) is expected


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([". ", ".", " ", "1", ",", "–", "-", "\t", "x", "\n"]),
                max_size=12).map("".join))
def test_dot_leader_test_agrees_with_the_old_pattern(line):
    old = (". . ." in line or "......" in line) and bool(_OLD_DOT_LEADER.search(line))
    assert has_dot_leader(line) is old
