"""Words as the app compares them: one normaliser for keyword search, context selection, the
answer scorer, grounding, the refusal model's coverage and follow-ups.

Two words match in any of those exactly when they match in all: lower-cased, function words
(:data:`STOPWORDS`) dropped, Snowball-stemmed (:func:`terms`), with names and codes also kept
whole (:func:`code_literals`). Before, context selection compared raw words ("stays" was not
"stay"), grounding compared the first six letters ("temperature" was "temper") and keyword
search used the Snowball stems with another stop list, so a word could count as present for
one step and absent for the next.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence

import Stemmer

# Function words: they say how a question is asked, not what about. The union of the 33-word
# Lucene list keyword search used and the question words context selection dropped; "no",
# "not" and "nor" are kept as words, since they change what an answer says.
STOPWORDS = frozenset(
    """a about after all an and any are as at be before but by can could did do does doing for
    from has have how i if in into is it its me much many my of on or our please should such
    tell that the their them then there these they this to was we were what when where which
    who whom why will with would you your""".split()
)

# A word as the user or document writes it, inner dots, hyphens and underscores kept ("E104",
# "4.3.0", "autovacuum_max_workers"). Linear: no nested quantifier can backtrack.
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*[A-Za-z0-9]|[A-Za-z0-9]")
# The parts keyword terms are made of: runs of two or more letters or digits, any script.
_TERM = re.compile(r"(?u)\b\w\w+\b")
# Runs of letters and digits joined by inner dots and hyphens ("4.3.0", "e-104", "HB-2",
# "2024-11-21"). Matched left to right without look-arounds, so in linear time on any text.
_WORDISH = re.compile(r"[A-Za-z0-9]+(?:[.\-][A-Za-z0-9]+)*")
# Identifiers as a document writes them ("SESSION_COOKIE_AGE", "hb-2", "4.3.0"); linear too.
_IDENTIFIER = re.compile(r"[A-Za-z0-9]+(?:[._\-][A-Za-z0-9]+)*")

# PyStemmer objects are not safe to share between threads; Streamlit serves sessions on threads.
_thread_state = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    stemmer = getattr(_thread_state, "stemmer", None)
    if stemmer is None:
        stemmer = Stemmer.Stemmer("english")
        _thread_state.stemmer = stemmer
    return stemmer


def content_words(text: str) -> list[str]:
    """Lower-cased words minus stop words, as written: what a question or an answer is about
    (carried into a follow-up, named to a user)."""
    return [w for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in STOPWORDS]


def number_literals(text: str) -> list[str]:
    """Words with a digit, kept whole with their inner dots and hyphens, lower-cased."""
    return [m.lower() for m in _WORDISH.findall(text) if any(c.isdigit() for c in m)]


def code_words(text: str) -> list[str]:
    """Names and codes as written: the words with a digit or an underscore (a setting, a
    version, a part number), which the terms split into common parts."""
    return [m for m in _IDENTIFIER.findall(text) if "_" in m or any(c.isdigit() for c in m)]


def code_literals(text: str) -> list[str]:
    """:func:`code_words`, lower-cased."""
    return [word.lower() for word in code_words(text)]


def written_literals(text: str) -> list[str]:
    """The codes ``text`` writes: :func:`code_literals`, and the parts of a snake_case name that
    are codes themselves ("4217" of "ISO_4217", "v2" of "ngx_http_v2_module"). A question that
    names the code alone asks about what such a text names; dots and hyphens are not split,
    since they join a version's or a date's parts ("4.3.0" does not write "4")."""
    out = []
    for literal in code_literals(text):
        out.append(literal)
        if "_" in literal:
            out += [part for part in literal.split("_")
                    if len(part) > 1 and any(c.isdigit() for c in part)]
    return out


def word_terms(texts: Sequence[str]) -> list[list[str]]:
    """Per text, its stemmed words minus stop words. Underscores separate words: JSON and XML
    keys are snake_case ("ip_rating: IPX6"), and kept whole they matched neither "IP rating"
    nor "rating"."""
    stemmer = _stemmer()
    out = []
    for text in texts:
        words = [w for w in _TERM.findall(text.lower().replace("_", " ")) if w not in STOPWORDS]
        out.append(stemmer.stemWords(words))
    return out


def terms_of(texts: Sequence[str]) -> list[list[str]]:
    """Per text, its terms: :func:`word_terms`, and versions, dates and codes whole ("15.1",
    "1.0.0", "2024-11-21", "hb-2"). The word terms keep only parts of two or more characters,
    so "15.1" and "15.10" were one term ("15") and "1.0.0" none at all; a one-digit number
    ("3") is a term too, as an answer may be no more than that."""
    out = word_terms(texts)
    for words, text in zip(out, texts, strict=True):
        words.extend(lit for lit in number_literals(text) if not lit.isalnum() or len(lit) == 1)
    return out


def terms(text: str) -> list[str]:
    """The terms of one text (:func:`terms_of`)."""
    return terms_of([text])[0]


def surface_words(text: str) -> dict[str, str]:
    """Term -> the word of ``text`` it came from, to name a term to a user."""
    out: dict[str, str] = {}
    for word in _WORDISH.findall(text):
        for term in terms(word):
            out.setdefault(term, word)
    return out


def term_overlap(question_terms: Sequence[str], text: str) -> float:
    """Share of the question's distinct terms present in ``text`` (0..1)."""
    asked = set(question_terms)
    if not asked:
        return 0.0
    return len(asked & set(terms(text))) / len(asked)


# A closed compound splits into two words of at least this many letters each ("code|point"),
# so that common short prefixes ("re", "un", "co") do not make every long word a compound.
_COMPOUND_PART_CHARS = 3


def open_compound(word: str, known: Callable[[str], bool]) -> re.Pattern[str] | None:
    """A pattern that finds ``word``, a closed compound as a question may write it
    ("codepoint", "filename", "timezone"), written open in a text ("code point", "file-name",
    "time zones"), or None when it cannot be: every way to cut it into two words whose terms
    ``known`` accepts (a collection's vocabulary), the first part whole and the second a word
    that begins with its stem. A literal alternation, so it runs in linear time."""
    lowered = word.lower()
    if not lowered.isalpha() or len(lowered) < 2 * _COMPOUND_PART_CHARS:
        return None
    stemmer = _stemmer()
    ways = []
    for cut in range(_COMPOUND_PART_CHARS, len(lowered) - _COMPOUND_PART_CHARS + 1):
        first, second = lowered[:cut], lowered[cut:]
        if first in STOPWORDS or second in STOPWORDS:
            continue
        second_term = stemmer.stemWord(second)
        if known(stemmer.stemWord(first)) and known(second_term):
            ways.append(rf"{re.escape(first)}[\s\-]{{1,3}}{re.escape(second_term)}")
    return re.compile(rf"\b(?:{'|'.join(ways)})", re.IGNORECASE) if ways else None
