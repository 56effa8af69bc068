"""Which sentences of the retrieved chunks answer: the extractive answer's scorer.

When the model's own answer is not verified, the reply leads with one sentence (or one short
record) of the sources, or a sentence and the one after it. The sentence closest to the
question is often one that restates it (a heading, an FAQ question, a record's name line, a
setting's one-line description) while the answer is the next sentence ("The default is
three."), which shares no word with the question. So the candidates are the closest sentences
alone and each with the sentence that follows it in its chunk. A few signals that mean the same
on any collection separate them; their weights are fitted (a logistic regression,
``python -m rag fit``) on the train halves of the evaluation sets, labelled by whether a
candidate holds the gold answer, and kept as data in ``data/answer_scorer.json``:

- ``closeness``: the (first) sentence's score from context selection (dense cosine plus a
  little lexical overlap with the question);
- ``next_closeness``: the following sentence's score, for a candidate of two (else 0);
- ``pair``: 1 for a candidate of two sentences;
- ``overlap``: the share of the question's content words the sentence repeats (high for a
  sentence that restates the question);
- ``chunk_rank``: 1 / the retrieval rank of its chunk;
- ``new_number``: it holds a number the question does not (quantities, dates, versions);
- ``question_line``: it is itself a question;
- ``length``: how long it is (log characters), short lines being headings and labels;
- ``closeness_gap`` and ``overlap_gap``: its closeness and overlap less the best among the
  question's candidates (0 for the best; negative below it). Closeness runs higher on one
  collection than another; how far a sentence is behind the best one means the same on all
  (two-fold fitting on the four sets, top-1: realdocs 0.322 -> 0.344, SQuAD 0.768 -> 0.788,
  gold 0.776 -> 0.806, dev 0.746 -> 0.732);
- ``chunk_closeness``: the dense cosine of its whole chunk to the question. The chunk's rank
  mixes keyword and dense scores and says nothing of how far apart the chunks are; a sentence
  that only restates the question often sits in the chunk keyword search ranks first, the
  answer in a chunk that is, as a whole, about what is asked (16 random halves of the four
  sets, top-1: realdocs 0.556 -> 0.576, SQuAD 0.816 -> 0.818, gold 0.873 -> 0.871, dev
  0.798 -> 0.806).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.answer.context import Passage
from rag.answer.logistic import Logistic, read_model_file, sigmoid, to_json
from rag.text import term_overlap, terms

DEFAULT_SCORER_PATH = Path(__file__).resolve().parents[2] / "data" / "answer_scorer.json"
SPAN_FEATURES = ("closeness", "next_closeness", "pair", "overlap", "chunk_rank", "new_number",
                 "question_line", "length", "closeness_gap", "overlap_gap", "chunk_closeness")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class Candidate:
    """A sentence, or a sentence and the next one of its chunk, that may answer."""

    passage: Passage  # its text, chunk number and span in the chunk
    next_score: float | None = None  # the closeness of the second sentence of a pair
    chunk_score: float = 0.0  # the dense cosine of its chunk to the question


def candidates(ranked: Sequence[Passage], chunk_texts: Sequence[str], limit: int,
               boundaries: Sequence[Sequence[int]] = (),
               chunk_scores: Sequence[float] = ()) -> list[Candidate]:
    """The ``limit`` closest sentences of ``ranked`` (scored by
    :func:`rag.answer.context.score_sentences`), each alone and with the sentence after it in its
    chunk (``chunk_texts[number - 1]``), when there is one and no record boundary
    (``boundaries[number - 1]``: where each packed record of that chunk ends) lies between:
    two neighbouring records are two answers, not one. ``chunk_scores[number - 1]``: the
    dense cosine of that chunk to the question (0 when not given)."""
    by_chunk: dict[int, list[Passage]] = {}
    for passage in ranked:
        by_chunk.setdefault(passage.number, []).append(passage)
    for spans in by_chunk.values():
        spans.sort(key=lambda p: p.start)
    out = []
    for passage in ranked[:limit]:
        chunk_score = chunk_score_of(passage, chunk_scores)
        out.append(Candidate(passage, chunk_score=chunk_score))
        spans = by_chunk[passage.number]
        at = spans.index(passage)
        ends = boundaries[passage.number - 1] if passage.number <= len(boundaries) else ()
        if at + 1 < len(spans) and passage.number <= len(chunk_texts):
            after = spans[at + 1]
            if any(passage.end <= end <= after.start for end in ends):
                continue
            text = chunk_texts[passage.number - 1][passage.start:after.end]
            pair = Passage(passage.number, text, passage.score, passage.start, after.end,
                           passage.heading)
            out.append(Candidate(pair, after.score, chunk_score))
    return out


def chunk_score_of(passage: Passage, chunk_scores: Sequence[float]) -> float:
    """``chunk_scores`` of the passage's chunk (citation number ``passage.number``), else 0."""
    return chunk_scores[passage.number - 1] if 0 < passage.number <= len(chunk_scores) else 0.0


def span_features(question: str, candidate: Candidate) -> list[float]:
    """The :data:`SPAN_FEATURES` of one candidate for ``question``, as if it were the only
    one (its gaps 0): :func:`span_feature_rows` places it among the others."""
    return span_feature_rows(question, [candidate])[0]


def span_feature_rows(question: str, options: Sequence[Candidate]) -> list[list[float]]:
    """The :data:`SPAN_FEATURES` of every candidate of ``question``, one row each."""
    asked = set(_NUMBER.findall(question))
    asked_terms = terms(question)
    rows = []
    for candidate in options:
        passage = candidate.passage
        numbers = set(_NUMBER.findall(passage.text))
        rows.append([
            passage.score,
            candidate.next_score or 0.0,
            0.0 if candidate.next_score is None else 1.0,
            term_overlap(asked_terms, passage.read_as),
            1.0 / max(passage.number, 1),
            1.0 if numbers - asked else 0.0,
            1.0 if passage.text.split("\n", 1)[0].rstrip().rstrip("*").endswith("?") else 0.0,
            math.log1p(len(passage.text)),
            0.0,  # closeness_gap and overlap_gap: set below, against the best
            0.0,
            candidate.chunk_score,
        ])
    if rows:
        best_closeness = max(row[0] for row in rows)
        best_overlap = max(row[3] for row in rows)
        for row in rows:
            row[8], row[9] = row[0] - best_closeness, row[3] - best_overlap
    return rows


def extract_reply(passage: Passage) -> str:
    """The reply that leads with the extracted answer: the sentence (the lines of a record or
    of a heading and its sentence joined by " · ") and its citation."""
    lines = [" ".join(line.split()) for line in passage.text.splitlines()]
    return f"{' · '.join(line for line in lines if line)} [{passage.number}]"


@dataclass(frozen=True)
class AnswerScorer:
    """A logistic regression over :data:`SPAN_FEATURES`: how likely a candidate answers."""

    weights: Logistic
    fitted_on: dict[str, Any]

    def weigh(self, values: Sequence[float]) -> float:
        """The log-odds that a candidate with these features holds the answer."""
        return self.weights.log_odds(values)

    def confidence(self, question: str, options: Sequence[Candidate]) -> float:
        """The probability that the best candidate holds the answer (0 without candidates)."""
        return self.best_probability(span_feature_rows(question, options))

    def best_probability(self, feature_rows: Iterable[Sequence[float]]) -> float:
        """:meth:`confidence` from the candidates' :func:`span_feature_rows`."""
        z = max((self.weigh(row) for row in feature_rows), default=None)
        return 0.0 if z is None else sigmoid(z)

    def best(self, question: str, options: Sequence[Candidate]) -> Passage | None:
        """The candidate most likely to hold the answer (the first on a tie), as a passage."""
        at = self.best_index(span_feature_rows(question, options))
        return None if at is None else options[at].passage

    def best_index(self, feature_rows: Iterable[Sequence[float]]) -> int | None:
        """Which candidate, by its :func:`span_feature_rows`, is most likely to hold the answer
        (the first on a tie): the one a reply quotes. None without candidates."""
        scores = [self.weigh(row) for row in feature_rows]
        return scores.index(max(scores)) if scores else None

    def to_json(self) -> str:
        return to_json({**self.weights.as_dict(), "fitted_on": self.fitted_on})


@lru_cache(maxsize=4)
def load_answer_scorer(path: Path = DEFAULT_SCORER_PATH) -> AnswerScorer:
    """The fitted scorer at ``path`` (read once per path)."""
    data = read_model_file(path, "answer scorer")
    weights = Logistic.from_dict(data, f"answer scorer {path}", SPAN_FEATURES)
    return AnswerScorer(weights, dict(data.get("fitted_on", {})))
