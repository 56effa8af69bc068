"""Whether to answer at all: one calibrated decision from signals that mean the same on any
collection.

Dense closeness alone cannot tell a question the documents answer from one about a sibling
they do not cover: both sit near the same passage. What separates them is measured by a few
numbers, each in 0..1 whatever the collection or the way the question is typed:

- ``dense_best``: the closest retrieved chunk's cosine to the question;
- ``sentence_best``: the closest single sentence (or short record) of those chunks, which is
  what an extracted answer would quote;
- ``keyword_chunk``, ``keyword_passages``, ``keyword_library``: the share of the question's
  keyword terms found in the one best chunk, in all retrieved chunks together and anywhere in
  the collection, each term weighted by how specific it is in general English
  (:func:`specificity`), so names, codes, numbers and rare words weigh most and the ordinary
  words people ask with ("roughly", "daily", "take") little;
- ``rarest_missing``: the specificity of the most specific question term that no retrieved
  chunk holds (0 when none is missing);
- ``token_match``: how closely the best candidate answer (a sentence, or it and the next) meets
  the question word for word: each question wordpiece's closest wordpiece of the candidate,
  by the embedding model's own wordpiece vectors, averaged over the question. A pooled
  sentence vector blurs which words matched; a question asking for something the passage
  does not say about its subject (who made it, when it changed) matches the passage's
  topic but not its words (fitted on twelve random halves of the four sets and judged on the
  other halves, adding it moved the gap between unanswerable and falsely declined by +1.1
  points on realdocs, +7.9 on gold, +0.3 on SQuAD, -0.4 on dev, and SQuAD's false declines
  from 10.3% to 9.7%);
- ``extract_best``: the answer scorer's probability (rag/answer/extract.py) that its best candidate
  sentence holds the answer;
- ``keyword_answer``: the share of the question's keyword terms, weighted by specificity, that
  this best candidate itself holds (:func:`answer_coverage`). The chunk and passage shares count
  a word wherever the retrieved text has it; a record or sentence answers what it says, and
  a question about something its subject's passage leaves out (a field no record has, a
  sibling's attribute) finds its specific word elsewhere, not in the quote (fitted on twelve
  random halves of the four sets and judged on the other halves, adding it moved the gap
  between unanswerable and falsely declined by +3.2 points on realdocs, +7.7 on gold, +0.2
  on SQuAD, +0.1 on dev).

A logistic regression over them and their pairwise products (fitted on the train halves of
several evaluation sets by ``python -m rag fit``, see rag/eval/refusal_fit.py) gives the
probability that the documents answer; below the fitted threshold the reply declines. The
products let one signal count by another: every word of an off-topic question may occur
somewhere in a large library, which means little when no passage is close to the question.
The model is data (``data/refusal_model.json``): weights, feature scaling, threshold and what
it was fitted on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

from ingest.records import indexed_text
from rag.answer.logistic import Logistic, read_model_file, to_json
from rag.errors import ConfigError

DEFAULT_MODEL_PATH = Path(__file__).resolve().parents[2] / "data" / "refusal_model.json"
# Question words searched for as open compounds across the whole collection (see term_coverage).
MAX_COMPOUND_SCANS = 4


@dataclass(frozen=True)
class RefusalFeatures:
    """The signals of one question against its retrieved chunks (see the module docstring)."""

    dense_best: float
    sentence_best: float
    keyword_chunk: float
    keyword_passages: float
    keyword_library: float
    rarest_missing: float
    token_match: float
    extract_best: float = 0.0
    keyword_answer: float = 0.0

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def vector(self) -> list[float]:
        return [float(getattr(self, name)) for name in self.names()]


@dataclass(frozen=True)
class TermCoverage:
    """The keyword part of the features, with the most specific missing term for the user."""

    chunk: float
    passages: float
    library: float
    rarest_missing: float
    missing_term: str  # the question's word behind rarest_missing ("" when none is missing)


def question_terms(question: str) -> str:
    """The question without function words ("how", "which", "does": the stop words of
    :func:`rag.text.content_words`), which say how it is asked and not what about (the
    keyword index keeps most of them, and a collection that never writes "which" would make
    it the question's most specific word)."""
    from rag.text import content_words

    return " ".join(content_words(question))


def specificity(word: str) -> float:
    """How specific a written word is, 0..1, from its frequency in general English (wordfreq's
    Zipf scale: 8 - Zipf, over 8): "take" and "long" weigh little, "thermostat" much, a name or
    code the lists lack (or any word with a digit: versions, codes, dates) the most. General
    English, not the collection, because a word the collection never uses has no collection
    frequency to say whether its absence matters."""
    if any(ch.isdigit() for ch in word):
        return 1.0
    from wordfreq import zipf_frequency  # loads its word list on first use (~1 s)

    return min(max((8.0 - zipf_frequency(word, "en")) / 8.0, 0.05), 1.0)


def term_coverage(question: str, docs: Sequence[Document], vocabulary: Any) -> TermCoverage:
    """How much of the question's specific wording the best chunk, the retrieved chunks and
    the collection hold, each keyword term weighted by :func:`specificity`. Names and codes
    (words with a digit or an underscore: a setting, a version) count once more as written,
    with full weight: their keyword parts ("session", "cookie", "age") are common words that a
    library may hold while never naming the setting itself. A word the question writes closed
    ("codepoint") is held where the text writes it open ("code point"). ``vocabulary`` is the
    collection's :class:`rag.store.bm25.Bm25Index`."""
    from rag.text import code_literals, code_words, surface_words, terms_of, written_literals

    wording = question_terms(question)
    terms = list(dict.fromkeys(terms_of([wording])[0]))
    literals = list(dict.fromkeys(code_literals(question)))
    if not terms and not literals:
        return TermCoverage(1.0, 1.0, 1.0, 0.0, "")
    written = surface_words(question)
    written.update({f"={word.lower()}": word for word in code_words(question)})
    weight = {t: specificity(written.get(t, t)) for t in terms}
    weight.update({f"={lit}": 1.0 for lit in literals})  # "=": a literal, not a stemmed token
    total = sum(weight.values())
    texts = [indexed_text(d.page_content, d.metadata) for d in docs]
    per_chunk = [set(tokens) | {f"={lit}" for lit in written_literals(text)}
                 for tokens, text in zip(terms_of(texts), texts, strict=True)]
    union = set().union(*per_chunk) if per_chunk else set()

    def holds(term: str, present: set[str]) -> bool:
        return term in present if term.startswith("=") else vocabulary.holds(term, present)

    # A word no chunk holds may be a closed compound the chunks write open ("codepoint" in
    # the question, "code point" in the text): the chunks where it is written so hold it too.
    apart: dict[str, set[int]] = {}
    for term in (t for t in weight if not t.startswith("=") and not holds(t, union)):
        pattern = vocabulary.open_compound(written.get(term, term))
        if pattern is not None:
            apart[term] = {i for i, text in enumerate(texts) if pattern.search(text)}

    def held(term: str, at: int) -> bool:
        return holds(term, per_chunk[at]) or at in apart.get(term, ())

    def in_library(term: str) -> bool:
        if term.startswith("="):
            return vocabulary.has_literal(term[1:])
        return vocabulary.has_related_term(term) or bool(apart.get(term))

    not_in_library = sorted((t for t in weight if not in_library(t)), key=weight.__getitem__,
                            reverse=True)
    # Searching the whole collection for a compound written open scans every chunk once per
    # word (then cached): a few words per question, the most specific first.
    found_apart = {t for t in not_in_library[:MAX_COMPOUND_SCANS]
                   if not t.startswith("=") and vocabulary.writes_apart(written.get(t, t))}
    library = sum(w for t, w in weight.items()
                  if t not in not_in_library or t in found_apart) / total
    missing = [t for t in weight if not holds(t, union) and not apart.get(t)]
    rarest = max(missing, key=lambda t: weight[t], default="")
    return TermCoverage(
        chunk=max((sum(w for t, w in weight.items() if held(t, at)) / total
                   for at in range(len(per_chunk))), default=0.0),
        passages=sum(w for t, w in weight.items() if t not in missing) / total,
        library=library,
        rarest_missing=weight[rarest] if rarest else 0.0,
        missing_term=written.get(rarest, rarest) if rarest else "",
    )


def answer_coverage(question: str, answer: str) -> float:
    """The share of ``question``'s keyword terms (:func:`question_terms`) that ``answer`` holds,
    each weighted by :func:`specificity`; 1 for a question without any."""
    from rag.text import surface_words, terms_of

    asked, held = terms_of([question_terms(question), answer])
    asked = list(dict.fromkeys(asked))
    if not asked:
        return 1.0
    written = surface_words(question)
    weight = {term: specificity(written.get(term, term)) for term in asked}
    present = set(held)
    return sum(w for term, w in weight.items() if term in present) / sum(weight.values())


def token_match(question: Any, candidates: Sequence[Any]) -> float:
    """The best candidate's match with the question word for word (see the module docstring):
    ``question`` and each of ``candidates`` are unit wordpiece vectors, one row per
    wordpiece (:meth:`rag.store.embeddings.LocalEmbeddings.token_vectors`); 0 without any."""
    if len(question) == 0:
        return 0.0
    return max((float((question @ c.T).max(axis=1).mean()) for c in candidates if len(c)),
               default=0.0)


def refusal_features(
    dense_best: float, sentence_best: float, coverage: TermCoverage, extract_best: float,
    token_match: float, keyword_answer: float,
) -> RefusalFeatures:
    return RefusalFeatures(
        extract_best=extract_best,
        keyword_answer=keyword_answer,
        token_match=token_match,
        dense_best=dense_best,
        sentence_best=sentence_best,
        keyword_chunk=coverage.chunk,
        keyword_passages=coverage.passages,
        keyword_library=coverage.library,
        rarest_missing=coverage.rarest_missing,
    )


@dataclass(frozen=True)
class RefusalModel:
    """A logistic regression over :class:`RefusalFeatures`: P(the documents answer)."""

    weights: Logistic
    threshold: float  # decline when the probability is below it
    fitted_on: dict[str, Any]  # provenance: sets, split seed, train and held-out figures

    def probability(self, features: RefusalFeatures) -> float:
        return self.weights.probability(features.vector())

    def declines(self, features: RefusalFeatures) -> bool:
        return self.probability(features) < self.threshold

    def to_json(self) -> str:
        return to_json({**self.weights.as_dict(), "threshold": self.threshold,
                        "fitted_on": self.fitted_on})

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "refusal model") -> RefusalModel:
        weights = Logistic.from_dict(data, where, RefusalFeatures.names())
        try:
            threshold = float(data["threshold"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: no threshold ({type(exc).__name__})") from exc
        return cls(weights, threshold, dict(data.get("fitted_on", {})))


@lru_cache(maxsize=4)
def load_refusal_model(path: Path = DEFAULT_MODEL_PATH) -> RefusalModel:
    """The fitted model at ``path`` (read once per path)."""
    return RefusalModel.from_dict(read_model_file(path, "refusal model"), str(path))
