"""Grounding check: is a generated answer supported by the passages it cites?

A small model happily overrides its context with world knowledge ("The capital of Mongolia is
Beijing"). We check the answer's content words and numbers against the cited passages; an
answer that fails is not shown as fact: the reply leads with the sentence the answer scorer
(rag/answer/extract.py) picks instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.context import Passage, split_sentences
from rag.text import terms

_CITATION = re.compile(r"\[(\d{1,3})\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# A template slot the model filled with a placeholder instead of a fact ("is [address]").
# (Found by has_placeholder, in linear time: as a pattern it rescans to the end from every "[".)
# A number with its unit ("35%", "28 cm", "54 dB"): one value of a quantity.
# Possessive, and only from the first digit of a number: backtracking into a long run of
# digits with no unit after it made the scan quadratic in the run's length.
_VALUE = re.compile(r"(?<!\d)(\d++(?:[.,]\d++)*+)\s*+(%|[^\W\d_]+)")
# A word with digits in it: a model name, a version, a code. It must occur as written.
_CODE = re.compile(r"\b(?=\w*\d)(?=\w*[a-z])\w+\b", re.IGNORECASE)
# Phrases with which a model says the context has no answer. Kept narrow: "the pump does not
# have a filter" is an answer (checked by grounding), not a refusal.
_DECLINE = re.compile(
    r"\b(do|does)\s+not\s+contain\b|\b(don't|doesn't)\s+contain\b|\bdon't\s+know\b"
    r"|\bdo\s+not\s+know\b|\bno\s+information\b|\bcannot\s+(find|answer|determine)\b"
    r"|\bcan't\s+(find|answer)\b"
    r"|\bnot\s+(mentioned|provided|specified|stated|found)\s+in\s+the\s+(documents?|context|text)",
    re.IGNORECASE,
)

NOT_IN_DOCUMENTS = "The documents do not contain the answer."

@dataclass(frozen=True)
class GroundingVerdict:
    supported: bool
    support: float  # share of the answer's content words found in the cited passages
    cited: tuple[int, ...]  # citation numbers the answer used (valid ones only)
    best: Passage | None  # the passage that supports the answer best
    reason: str


def cited_numbers(answer: str, valid: set[int]) -> tuple[int, ...]:
    """Citation numbers ``[n]`` in the answer that point at a real source, in order, unique."""
    seen: list[int] = []
    for match in _CITATION.finditer(answer):
        n = int(match.group(1))
        if n in valid and n not in seen:
            seen.append(n)
    return tuple(seen)


def is_decline(answer: str) -> bool:
    """Whether the model said the context does not hold the answer."""
    return bool(_DECLINE.search(answer))


def has_placeholder(text: str) -> bool:
    """Whether ``text`` holds a bracketed slot that is not a citation: "[", then a character
    other than a digit or "]", then anything up to the next "]" ("is [address]")."""
    start = 0
    while (close := text.find("]", start)) >= 0:
        segment = text[start:close]  # holds no "]": each "[" in it is closed at `close`
        at = segment.find("[")
        while at >= 0:
            if at + 1 < len(segment) and not segment[at + 1].isdecimal():
                return True
            at = segment.find("[", at + 1)
        start = close + 1
    return False


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def _codes(text: str) -> set[str]:
    return {c.lower() for c in _CODE.findall(text)}


def _values(text: str) -> set[tuple[str, str]]:
    return {(n.replace(",", ""), u.lower()) for n, u in _VALUE.findall(text)}


def _rival_values(answer: str, passage: str, question: str) -> set[str]:
    """Other values of the answer's units in ``passage``: the answer picked one from a list.

    "35% for the Marten M3, 40% for the Marten M3 Pro": word overlap cannot tell which value
    belongs to which model, and a small model often takes the first.
    """
    given = _values(answer)
    units = {u for _, u in given}
    asked = _numbers(question)
    return {
        f"{n}{u}" if u == "%" else f"{n} {u}"
        for n, u in _values(passage) - given
        if u in units and n not in asked
    }


def check_grounding(
    answer: str,
    passages: Sequence[Passage],
    *,
    question: str = "",
    min_support: float,
    anchor: Passage | None = None,
) -> GroundingVerdict:
    """Judge whether ``answer`` is supported by the passages it cites (all, if it cites none).

    Only what the answer adds to the question is checked: "The capital of Mongolia is Beijing"
    shares most words with a context about Mongolia's capital, yet its one new word is wrong.
    With an ``anchor`` (the passage that best answers the question on its own), the answer
    must be supported by that one passage, whatever it cites: a small model given three
    sentences often takes its number from the wrong one ("HTTP 429" from the rate-limit line
    when asked what retired paths return), and each of its sentences must pass on its own.
    """
    valid = {p.number for p in passages}
    cited = cited_numbers(answer, valid)
    if anchor is not None:
        pool = [anchor]
    else:
        pool = [p for p in passages if p.number in cited] if cited else list(passages)
    body = _CITATION.sub(" ", answer)
    asked = set(terms(question))
    words = [t for t in terms(body) if t not in asked]
    best = _best_passage(words or terms(body), passages)
    if has_placeholder(body):
        return GroundingVerdict(False, 0.0, cited, best, "the answer holds a placeholder")
    if not pool or not words:
        return GroundingVerdict(False, 0.0, cited, best, "the answer adds nothing checkable")
    pool_text = " ".join(p.text for p in pool)
    pool_terms = set(terms(pool_text))
    found = sum(1 for t in words if t in pool_terms)
    support = found / len(words)
    missing_numbers = _numbers(body) - _numbers(pool_text)
    missing_codes = _codes(body) - _codes(pool_text) - _codes(question)
    if missing_codes:
        reason = f"names not in the cited context: {', '.join(sorted(missing_codes))}"
        return GroundingVerdict(False, support, cited, best, reason)
    if missing_numbers:
        reason = f"numbers not in the cited context: {', '.join(sorted(missing_numbers))}"
        return GroundingVerdict(False, support, cited, best, reason)
    rivals = _rival_values(body, pool_text, question) if anchor is not None else set()
    if rivals:
        reason = f"the cited passage lists other values too: {', '.join(sorted(rivals))}"
        return GroundingVerdict(False, support, cited, best, reason)
    if support < min_support:
        reason = f"only {support:.0%} of the answer's words occur in the cited context"
        return GroundingVerdict(False, support, cited, best, reason)
    if anchor is not None and (weakest := _weakest_sentence(
            body, pool_terms, asked, complete_only=False)) < min_support:
        reason = f"one of the answer's sentences has only {weakest:.0%} of its words in the passage"
        return GroundingVerdict(False, support, cited, best, reason)
    return GroundingVerdict(True, support, cited, best, "supported by the cited context")


def _weakest_sentence(body: str, pool_terms: set[str], asked: set[str], *,
                      complete_only: bool) -> float:
    """The lowest share of a sentence's new words (those not in the question) that the pool
    holds, over the sentences of ``body`` that add any; 1.0 when none does. Judged sentence by
    sentence, a made-up sentence cannot pass on the words a copied one brings (a small model
    often writes both). ``complete_only``: leave out the last sentence, still being written."""
    spans = split_sentences(body)
    if complete_only:
        spans = spans[:-1]
    weakest = 1.0
    for start, end in spans:
        words = [t for t in terms(body[start:end]) if t not in asked]
        if words:
            weakest = min(weakest, sum(1 for t in words if t in pool_terms) / len(words))
    return weakest


class DoomedAnswer:
    """Whether no continuation of an answer still being generated can pass
    :func:`check_grounding` against ``pool_text`` (its anchor's text): it holds a placeholder, or
    a number or a name with digits that the pool does not hold, or (given ``min_support``) a
    finished sentence with fewer of its new words in the pool. These only accumulate as the
    answer grows, so generation can stop there. The last word may still be growing ("20" of
    "2026") and is not judged, nor the last sentence. Built once per answer: the pool's and the
    question's words are read here, not once a token."""

    def __init__(self, pool_text: str, question: str = "",
                 min_support: float | None = None) -> None:
        self._numbers = _numbers(pool_text)
        self._codes = _codes(pool_text) | _codes(question)
        self._pool_terms = set(terms(pool_text))
        self._asked = set(terms(question))
        self._min_support = min_support
        self._judged = (-1, False)  # (body length, verdict): a token inside a word changes none

    def __call__(self, partial: str) -> bool:
        end = len(partial)
        while end and not partial[end - 1].isspace():
            end -= 1
        if end != self._judged[0]:
            self._judged = (end, self._judge(_CITATION.sub(" ", partial[:end])))
        return self._judged[1]

    def _judge(self, body: str) -> bool:
        if (has_placeholder(body) or bool(_numbers(body) - self._numbers)
                or bool(_codes(body) - self._codes)):
            return True
        return self._min_support is not None and _weakest_sentence(
            body, self._pool_terms, self._asked, complete_only=True) < self._min_support


def _best_passage(answer_words: Sequence[str], passages: Sequence[Passage]) -> Passage | None:
    """The passage sharing most terms (rag/text.py) with the answer; ties (or no overlap) go
    to the closest."""
    if not passages:
        return None
    wanted = set(answer_words)

    def key(p: Passage) -> tuple[int, float]:
        overlap = len(wanted & set(terms(p.text)))
        return overlap, p.score

    return max(passages, key=key)
