"""Retrieval and answer metrics as pure functions.

Retrieval metrics take ``hits``: for each rank (1-based position i+1) whether the result there is
relevant, already deduplicated (a relevant unit counts at its first rank only), and
``n_relevant``: how many relevant units the question has. Binary relevance, log2 discount and an
ideal DCG over ``min(n_relevant, k)`` ranks: the definition pytrec_eval's ``ndcg_cut`` (and so
BEIR) uses for 0/1 judgments.

Answer metrics follow the SQuAD evaluation script's normalisation: lowercase, drop punctuation,
drop the articles a/an/the, collapse whitespace.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation) | {"‘", "’", "“", "”", "–", "—", "…"}


# -- retrieval ------------------------------------------------------------------------------
def recall_at_k(hits: Sequence[bool], n_relevant: int, k: int) -> float:
    """Share of the relevant units found in the top k."""
    if n_relevant <= 0:
        raise ValueError("recall is undefined for a question without relevant units")
    return min(sum(1 for h in hits[:k] if h), n_relevant) / n_relevant


def first_relevant_rank(hits: Sequence[bool]) -> int | None:
    """1-based rank of the first relevant result, None when none is relevant."""
    for i, hit in enumerate(hits):
        if hit:
            return i + 1
    return None


def mrr_at_k(hits: Sequence[bool], k: int = 10) -> float:
    """Reciprocal rank of the first relevant result within the top k (0 when none)."""
    rank = first_relevant_rank(hits[:k])
    return 0.0 if rank is None else 1.0 / rank


def dcg_at_k(hits: Sequence[bool], k: int) -> float:
    return sum(1.0 / math.log2(i + 2) for i, hit in enumerate(hits[:k]) if hit)


def ndcg_at_k(hits: Sequence[bool], n_relevant: int, k: int = 10) -> float:
    """Binary-relevance nDCG@k; the ideal ranking puts all relevant units first."""
    if n_relevant <= 0:
        raise ValueError("nDCG is undefined for a question without relevant units")
    ideal = dcg_at_k([True] * min(n_relevant, k), k)
    return dcg_at_k(hits, k) / ideal


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation, as numpy's default."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else float("nan")


# -- answers --------------------------------------------------------------------------------
def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lowercase, no punctuation, no articles, single spaces."""
    return _normalised(text, punctuation_as="")


def _normalised(text: str, *, punctuation_as: str) -> str:
    text = "".join(punctuation_as if ch in _PUNCTUATION else ch for ch in text.lower())
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, references: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals any normalised reference."""
    pred = normalize_answer(prediction)
    return 1.0 if any(pred == normalize_answer(ref) for ref in references) else 0.0


def _f1(prediction: str, reference: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    ref_tokens = normalize_answer(reference).split()
    if not pred_tokens or not ref_tokens:
        # SQuAD: two empty answers agree, otherwise no overlap is possible.
        return 1.0 if pred_tokens == ref_tokens else 0.0
    common = Counter(pred_tokens) & Counter(ref_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(pred_tokens)
    recall = overlap / len(ref_tokens)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, references: Sequence[str]) -> float:
    """Best token-overlap F1 of the prediction against any reference."""
    return max((_f1(prediction, ref) for ref in references), default=0.0)


def contains_answer(reply: str, references: Sequence[str]) -> bool:
    """Whether a normalised reference (answer or alias) occurs in the normalised reply.

    Matched on whole tokens, so "10" is not found inside "2010"; punctuation separates tokens
    here (SQuAD's normalisation deletes it), so "de_facto_official" is found in
    "status=de_facto_official" and "Rollo" in "Rollo's". A reference of punctuation only (an
    emoticon) is looked for as it is written, case-insensitively.
    """
    padded = f" {_normalised(reply, punctuation_as=' ')} "
    for ref in references:
        norm = _normalised(ref, punctuation_as=" ")
        if norm and f" {norm} " in padded:
            return True
        if not norm and contains_text(reply, [ref]):
            return True
    return False


def contains_text(reply: str, references: Sequence[str]) -> bool:
    """Whether a reference occurs in the reply as text, compared case-insensitively with
    whitespace collapsed (no word boundaries: "10" is found in "2010")."""
    body = collapse_spaces(reply)
    return any(ref and ref in body for ref in map(collapse_spaces, references))


def collapse_spaces(text: str) -> str:
    """Case-folded with runs of whitespace as one space."""
    return " ".join(text.split()).casefold()


def citation_correctness(cited_relevant: Sequence[bool]) -> float | None:
    """Share of the cited sources that are relevant; None when nothing was cited."""
    if not cited_relevant:
        return None
    return sum(1 for c in cited_relevant if c) / len(cited_relevant)
