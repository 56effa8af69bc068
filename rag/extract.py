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
- ``length``: how long it is (log characters), short lines being headings and labels.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from rag.context import Passage, content_words, lexical_overlap
from rag.errors import ConfigError

DEFAULT_SCORER_PATH = Path(__file__).resolve().parents[1] / "data" / "answer_scorer.json"
SPAN_FEATURES = ("closeness", "next_closeness", "pair", "overlap", "chunk_rank", "new_number",
                 "question_line", "length")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class Candidate:
    """A sentence, or a sentence and the next one of its chunk, that may answer."""

    passage: Passage  # its text, chunk number and span in the chunk
    next_score: float | None = None  # the closeness of the second sentence of a pair


def candidates(ranked: Sequence[Passage], chunk_texts: Sequence[str], limit: int
               ) -> list[Candidate]:
    """The ``limit`` closest sentences of ``ranked`` (scored by
    :func:`rag.context.score_sentences`), each alone and with the sentence after it in its
    chunk (``chunk_texts[number - 1]``), when there is one."""
    by_chunk: dict[int, list[Passage]] = {}
    for passage in ranked:
        by_chunk.setdefault(passage.number, []).append(passage)
    for spans in by_chunk.values():
        spans.sort(key=lambda p: p.start)
    out = []
    for passage in ranked[:limit]:
        out.append(Candidate(passage))
        spans = by_chunk[passage.number]
        at = spans.index(passage)
        if at + 1 < len(spans) and passage.number <= len(chunk_texts):
            after = spans[at + 1]
            text = chunk_texts[passage.number - 1][passage.start:after.end]
            pair = Passage(passage.number, text, passage.score, passage.start, after.end)
            out.append(Candidate(pair, after.score))
    return out


def span_features(question: str, candidate: Candidate) -> list[float]:
    """The :data:`SPAN_FEATURES` of one candidate for ``question``."""
    passage = candidate.passage
    asked = set(_NUMBER.findall(question))
    numbers = set(_NUMBER.findall(passage.text))
    return [
        passage.score,
        candidate.next_score or 0.0,
        0.0 if candidate.next_score is None else 1.0,
        lexical_overlap(content_words(question), passage.text),
        1.0 / max(passage.number, 1),
        1.0 if numbers - asked else 0.0,
        1.0 if passage.text.split("\n", 1)[0].rstrip().rstrip("*").endswith("?") else 0.0,
        math.log1p(len(passage.text)),
    ]


def extract_reply(passage: Passage) -> str:
    """The reply that leads with the extracted answer: the sentence (the lines of a record or
    of a heading and its sentence joined by " · ") and its citation."""
    lines = [" ".join(line.split()) for line in passage.text.splitlines()]
    return f"{' · '.join(line for line in lines if line)} [{passage.number}]"


@dataclass(frozen=True)
class AnswerScorer:
    """Logistic weights over standardised :data:`SPAN_FEATURES` (higher: more likely answers)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    fitted_on: dict

    def score(self, question: str, candidate: Candidate) -> float:
        return self.weigh(span_features(question, candidate))

    def weigh(self, values: Sequence[float]) -> float:
        """The log-odds that a candidate with these features holds the answer."""
        return self.intercept + sum(
            c * (v - m) / s
            for v, m, s, c in zip(values, self.mean, self.scale, self.coef, strict=True)
        )

    def confidence(self, question: str, options: Sequence[Candidate]) -> float:
        """The probability that the best candidate holds the answer (0 without candidates)."""
        if not options:
            return 0.0
        z = max(self.score(question, c) for c in options)
        return 1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0)))

    def best(self, question: str, options: Sequence[Candidate]) -> Passage | None:
        """The candidate most likely to hold the answer (the first on a tie), as a passage."""
        if not options:
            return None
        return max(options, key=lambda c: self.score(question, c)).passage

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


@lru_cache(maxsize=4)
def load_answer_scorer(path: Path = DEFAULT_SCORER_PATH) -> AnswerScorer:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        scorer = AnswerScorer(
            features=tuple(data["features"]),
            mean=tuple(float(v) for v in data["mean"]),
            scale=tuple(float(v) for v in data["scale"]),
            coef=tuple(float(v) for v in data["coef"]),
            intercept=float(data.get("intercept", 0.0)),
            fitted_on=dict(data.get("fitted_on", {})),
        )
    except FileNotFoundError as exc:
        raise ConfigError(
            f"no answer scorer at {path}: fit one with `python -m rag fit`"
        ) from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"answer scorer {path} unreadable: {type(exc).__name__}") from exc
    if scorer.features != SPAN_FEATURES or any(s <= 0 for s in scorer.scale):
        raise ConfigError(f"answer scorer {path}: fitted for other features; fit it again")
    return scorer
