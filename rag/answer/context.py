"""Context selection: which passages of the retrieved chunks the LLM actually sees.

A 135M-parameter model drowns in four 1,000-character chunks: measured here it answered 2 of 54
factoid questions that way, and 7 of 54 given only the 3 sentences closest to the question.
So for small models we hand over the few sentences nearest the question (dense similarity
plus a little lexical overlap), each keeping the citation number of the chunk it came from.
Large remote models get whole chunks. Either way the context is fitted to a token budget.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from ingest.records import RUNNING_KEY
from rag.text import term_overlap, terms

ContextStrategy = Literal["sentences", "chunks"]

# Sentence ends, or line breaks: JSON/XML records are rendered one "key: value" per line,
# and each line is a statement of its own.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|\n+")


@dataclass(frozen=True)
class Passage:
    """One piece of context shown to the model, tied to the numbered source it came from."""

    number: int  # citation number [n] of the source chunk
    text: str
    score: float  # closeness to the question (cosine, plus lexical bonus)
    start: int  # character offset inside the chunk, for highlighting
    end: int
    heading: str = ""  # the section it sits under, when its text does not say it (not shown)

    @property
    def read_as(self) -> str:
        """The text as it is compared with the question: under its heading."""
        return f"{self.heading}: {self.text}" if self.heading else self.text


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences (or lines) of ``text``, blank ones dropped."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        chunk = text[s:e]
        stripped = chunk.strip()
        if len(stripped) < 3:
            continue
        lead = len(chunk) - len(chunk.lstrip())
        out.append((s + lead, s + lead + len(stripped)))
    return out


def merge_short_spans(spans: list[tuple[int, int]], min_chars: int = 60) -> list[tuple[int, int]]:
    """Join a short span (a heading, "Step 1: Mount the beacon") with the span after it.

    Alone, such a line is close to the question but holds no answer; the answer is usually
    the sentence that follows it.
    """
    merged: list[tuple[int, int]] = []
    pending: tuple[int, int] | None = None
    for start, end in spans:
        if pending is not None:
            start = pending[0]
            pending = None
        if end - start < min_chars:
            pending = (start, end)
            continue
        merged.append((start, end))
    if pending is not None:
        merged.append(pending)
    return merged


# A short JSON/XML record is one passage: split into its "key: value" lines, the line with the
# answer ("price: 59.00") shares no word with the question ("What does the Harbor Base power
# supply cost?") and is left out, while the name line that matches is kept without it.
RECORD_FORMATS = frozenset({"json", "jsonl", "xml", "csv"})
RECORD_PASSAGE_CHARS = 400


def passage_spans(chunk: Document) -> list[tuple[int, int]]:
    """The passages of one chunk: its sentences and lines, or the whole of a short record (of
    each record, in a chunk that packs several)."""
    from ingest.records import record_spans

    text = chunk.page_content
    packed = record_spans(chunk.metadata)
    if packed:
        spans: list[tuple[int, int]] = []
        for start, end, _ in packed:
            if end - start <= RECORD_PASSAGE_CHARS:
                spans.append((start, end))
            else:
                spans += [(start + a, start + b) for a, b in
                          merge_short_spans(split_sentences(text[start:end]))]
        return spans
    stripped = text.strip()
    record = chunk.metadata.get("format") in RECORD_FORMATS
    if record and 3 <= len(stripped) <= RECORD_PASSAGE_CHARS:
        start = text.index(stripped)
        return [(start, start + len(stripped))]
    headings = _headings(chunk.metadata)
    margins = _running_ranges(text, chunk.metadata)
    runs: list[list[tuple[int, int]]] = [[]]
    for s, e in split_sentences(text):
        if _is_contents_entry(text[s:e]):
            runs.append([])  # no passage reaches across a contents entry
        elif (_heading_key(text[s:e]) not in headings or _states_numbers(text[s:e])) and \
                not any(a <= s and e <= b for a, b in margins):
            runs[-1].append((s, e))
    return [span for run in runs for span in merge_short_spans(run)]


# A section's own number ("8.1.1.", "E.20.", "4") and a number standing as a word of a heading.
_ENUMERATOR = re.compile(r"(?:[A-Za-z]|\d+)(?:\.\d+)*\.?")
_NUMBER_WORD = re.compile(r"v?\d[\d.,:/-]*")


def _states_numbers(heading: str) -> bool:
    """Whether a heading holds a number besides its own section number: the version and date
    of a changelog or release-notes entry ("Changes with 1.2.0 12 Apr 2011", "Release 15.1",
    "Features introduced in version 5.2"). Such a heading says something a question may ask
    for (when, which version) that its entry's sentences do not repeat, so it stays a passage;
    a heading that only names its topic does not. Digits inside a word ("x11names", "2d")
    are no number."""
    words = [w.strip("()[]{},;:") for w in heading.split()]
    if words and _ENUMERATOR.fullmatch(words[0]):
        words = words[1:]
    return any(_NUMBER_WORD.fullmatch(w) for w in words)


# Dots a line must run out in to be a table-of-contents entry ("Colours . . . . . 39").
_LEADER_DOTS = 4


def _is_contents_entry(span: str) -> bool:
    """Whether ``span`` is a table-of-contents entry: it runs out in a dot leader (toward a
    page number, which may follow). Such a line names a section and a page, not what the
    section says; quoted, it answers nothing. A scan from the end, linear in the span."""
    body = span.rstrip().rstrip("0123456789").rstrip()
    leader = body[len(body.rstrip(". ")):]
    return leader.count(".") >= _LEADER_DOTS


def _running_ranges(text: str, meta: Mapping[str, Any]) -> list[tuple[int, int]]:
    """Where the page's running heads and feet (ingest.pdf_margins) stand in ``text``, each a
    whole line: "gnuplot 5.4 55" over a page answers nothing, and glued to the heading below
    it, it would lead the quote."""
    ranges = []
    for line in filter(None, str(meta.get(RUNNING_KEY) or "").split("\n")):
        start = text.find(line)
        while start != -1:
            end = start + len(line)
            if (start == 0 or text[start - 1] == "\n") and (end == len(text) or text[end] == "\n"):
                ranges.append((start, end))
            start = text.find(line, end)
    return ranges


# Separators of a section path ("Guide > Install > Linux"; records and tables use " › ").
_SECTION_SEPARATOR = re.compile(r" > | › ")


def _heading_key(text: str) -> str:
    return " ".join(text.split()).strip(" ¶#").casefold()


def _section_path(meta: Mapping[str, Any]) -> list[str]:
    """The headings of the chunk's section path, outermost first ([] without one)."""
    section = str(meta.get("section") or "")
    return _SECTION_SEPARATOR.split(section) if section else []


def section_heading(meta: Mapping[str, Any]) -> str:
    """The deepest heading of the chunk's section path ("" without one)."""
    path = _section_path(meta)
    return " ".join(path[-1].strip(" ¶#").split()) if path else ""


def _headings(meta: Mapping[str, Any]) -> set[str]:
    """The chunk's title and section headings, as :func:`_heading_key` spells them. A line of
    the chunk that is one of them is not a passage: the source's header shows it already, and
    alone or glued to the sentence after it, it is close to any question about its topic while
    answering none."""
    path = [str(meta.get("title") or ""), *_section_path(meta)]
    return {key for key in map(_heading_key, path) if key}


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(y * y for y in b)) or 1.0
    return dot / (na * nb)


def score_sentences(
    question: str,
    chunks: Sequence[Document],
    embeddings: Embeddings,
    *,
    lexical_weight: float = 0.3,
) -> list[Passage]:
    """Every sentence of every chunk, scored against the question, best first.

    Chunk ``i`` carries citation number ``i + 1``.
    """
    unscored: list[Passage] = []
    for number, chunk in enumerate(chunks, start=1):
        heading = section_heading(chunk.metadata)
        for start, end in passage_spans(chunk):
            text = chunk.page_content[start:end]
            under = heading if heading and heading.casefold() not in text.casefold() else ""
            unscored.append(Passage(number, text, 0.0, start, end, under))
    if not unscored:
        return []
    qvec = embeddings.embed_query(question)
    # Each passage is read under its section's heading: "Default: True" under "APPEND_SLASH"
    # answers a question about that setting, while the heading line itself is no passage
    # (see _headings) and no sentence of the section gets an edge from sitting next to it.
    svecs = embeddings.embed_documents([p.read_as for p in unscored])
    asked = terms(question)
    passages = [
        replace(p, score=_cosine(qvec, svec) + lexical_weight * term_overlap(asked, p.read_as))
        for p, svec in zip(unscored, svecs, strict=True)
    ]
    passages.sort(key=lambda p: p.score, reverse=True)
    return passages


def select_passages(
    question: str,
    chunks: Sequence[Document],
    embeddings: Embeddings,
    *,
    strategy: ContextStrategy,
    ranked: Sequence[Passage] | None = None,
    max_passages: int,
    token_budget: int,
    count_tokens: Callable[[str], int],
) -> list[Passage]:
    """The context for the prompt, within ``token_budget`` tokens.

    ``sentences``: the ``max_passages`` sentences closest to the question, re-ordered by source
    number then position so that neighbouring sentences read in document order.
    ``chunks``: whole chunks in retrieval order, each as one passage.
    ``ranked``: the sentences already scored by :func:`score_sentences` for these chunks.
    """
    if strategy == "chunks":
        candidates = [
            Passage(number=i, text=c.page_content, score=0.0, start=0, end=len(c.page_content))
            for i, c in enumerate(chunks, start=1)
        ]
    else:
        if ranked is None:
            ranked = score_sentences(question, chunks, embeddings)
        candidates = list(ranked[:max_passages])
    chosen: list[Passage] = []
    used = 0
    for passage in candidates:
        cost = count_tokens(passage.text) + 4  # "[n] " prefix and line break
        if used + cost > token_budget:
            continue
        chosen.append(passage)
        used += cost
    if strategy == "sentences":
        chosen.sort(key=lambda p: (p.number, p.start))
    return chosen


def format_context(passages: Sequence[Passage]) -> str:
    """Numbered context block: one ``[n] text`` line per passage, whitespace collapsed."""
    return "\n".join(f"[{p.number}] {' '.join(p.text.split())}" for p in passages)
