"""Does the library mention what the question asks about? A refusal signal beyond relevance.

Dense relevance cannot tell "What warranty applies in Germany?" (answered by the documents)
from "What warranty applies in Australia?" (answered by none): both sit close to the warranty
passage. What separates them is a specific word the documents never use. Measured on the
shipped gold set, the relevance threshold alone declined 36% of unanswerable questions; most
of the rest name a thing no document mentions (a model "M7", "torque", "antenna", "CEO").

A question word is *specific* when it contains a digit (model numbers, versions, error codes) or
is rare in general English (Zipf frequency below ``rare_below`` in the wordfreq lists, 5 = once
per 100,000 words) and can be a noun: rare nouns name things, while common words ("soon",
"far", "size") and verbs, adjectives and adverbs ("commit", "unable", "roughly") are usually
paraphrases of what the documents say in other words, so their absence proves nothing. A word
typed in title case inside the question ("Japan") is a name and specific however common.
A specific word is *covered* when its stemmed keyword tokens are all in the collection's BM25
vocabulary (or forms of the same word the stemmer leaves apart: "weigh" by "weight"), or, for
words the keyword tokenizer drops (such as the version "5.0"), when the word occurs in one of
the retrieved passages or anywhere in the collection. A number that follows a name
("MartenOS 5.0", "Bluetooth 5.0") is covered only next to that name: a library that says
"Bluetooth 5.0" does not mention a MartenOS 5.0.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

from rag.bm25 import get_bm25_cache, related_terms, word_tokens
from rag.context import content_words
from rag.settings import Settings

# Question words the stop list keeps but which never name the thing asked about.
_QUESTION_WORDS = frozenset("who whose whom what which where when why how".split())
# A name with a capital letter followed by a version or model number: "MartenOS 5.0", "Wi-Fi 6".
_NAMED_NUMBER = re.compile(
    r"(?<![\w.-])([A-Za-z][\w-]*[A-Z][\w-]*|[A-Z][\w-]*)\s+(\d+(?:\.\d+)*)(?!\w|\.\d)"
)
# Verbs that frame a question about a value the documents state under another word: "How
# much does it cost?" is answered by "price: 149", "How long does it take?" by "90 min".
# ("weigh" needs no place here: its form "weight" counts, see related_terms.)
_FRAME_VERBS = frozenset("cost costs take takes last lasts mean means".split())
# Words that never say what is asked: question words and frame verbs.
_NOT_ASKED = _QUESTION_WORDS | _FRAME_VERBS
# The words before the kind of answer wanted: "which tree", "what colour", "whose car".
_ANSWER_KIND_BEFORE = frozenset("which what whose".split())
# A written word of the question, as typed (case kept).
_TYPED_WORD = re.compile(r"[A-Za-z][\w'-]*")


def _is_specific(word: str, rare_below: float, names: frozenset[str] = frozenset()) -> bool:
    if any(ch.isdigit() for ch in word) or (rare_below > 0 and word in names):
        return True
    from wordfreq import zipf_frequency  # loads its word list on first use (~1 s)

    return zipf_frequency(word, "en") < rare_below and _can_name_a_thing(word)


def _can_name_a_thing(word: str) -> bool:
    """Whether a lower-case word can be a noun (and not also an adjective), or is unknown to
    the English lexicon (a name, code or abbreviation: "ceo", "mongolia", "sdk").

    Verbs, adjectives and adverbs say how something is asked more than what: the dev set's
    answerable questions that the library check declined were paraphrases ("commit to a
    contract", "roughly how long", "unable to move forward") where the documents use other
    words, while the unanswerable ones it caught name things ("torque", "antenna", "kingdom").
    A word that can be both noun and adjective ("unknown", "chemical") is given the benefit
    of the doubt. The passage check still weighs all of them.
    """
    from lemminflect import getAllLemmas  # loads its lexicon on first use (~0.2 s)

    kinds = getAllLemmas(word)
    return not kinds or ("NOUN" in kinds and "ADJ" not in kinds)


def typed_names(question: str) -> frozenset[str]:
    """The question's words typed in title case after its first word, lower-cased: names
    ("Mars", "Japan"), which count as specific however common the word. Not all-capital
    words: "Is it OK to …" names nothing (abbreviations that do, "CEO", are rare anyway)."""
    words = [m.group(0) for m in _TYPED_WORD.finditer(question)][1:]
    return frozenset(w.lower() for w in words if w[0].isupper() and not w.isupper())


def _loses_digits(word: str, tokens: Sequence[str]) -> bool:
    return any(ch.isdigit() for ch in word) and not any(ch.isdigit() for t in tokens for ch in t)


def _occurs_in(word: str, passages: Iterable[str]) -> bool:
    # Whole-word match, so "5.0" does not match inside "15.0" or "5.01".
    pattern = re.compile(rf"(?<![\w.]){re.escape(word)}(?![\w]|\.\w)", re.IGNORECASE)
    return any(pattern.search(text) for text in passages)


def missing_terms(
    question: str,
    in_vocabulary: Callable[[str], bool],
    passages: Iterable[str],
    *,
    rare_below: float,
    has_number: Callable[[str], bool] | None = None,
    has_match: Callable[[re.Pattern[str], str], bool] | None = None,
) -> tuple[str, ...]:
    """The specific words of ``question`` that the documents never use, in question order,
    after its named numbers ("MartenOS 5.0") that they never use either.

    ``in_vocabulary(token)`` answers for one stemmed keyword token (``word_tokens``);
    ``has_number(word)`` for a word with digits the tokenizer drops ("4.3.0") or keeps without
    them ("HB-3" as "hb"), which otherwise must occur in ``passages``;
    ``has_match(pattern, name)`` whether any chunk of the collection matches, for a named
    number, which otherwise must occur in ``passages``.
    ``rare_below <= 0`` switches the check off except for words with digits.
    """
    texts = list(passages)
    named = named_numbers(question)
    missing = [
        f"{name} {number}"
        for name, number, pattern in named
        if not (any(pattern.search(t) for t in texts)
                or (has_match is not None and has_match(pattern, name)))
    ]
    # A named number is judged with its name, above; alone it says less ("4.3" in "4.3.0").
    judged = {number for _, number, _ in named}
    names = typed_names(question)
    for word in dict.fromkeys(content_words(question)):
        if word in _QUESTION_WORDS or word in judged or not _is_specific(word, rare_below, names):
            continue
        tokens = word_tokens([word])[0]
        covered = all(in_vocabulary(t) for t in tokens)
        if not tokens or _loses_digits(word, tokens):
            # "5.0" has no keyword token, "HB-3" keeps only "hb": the number must occur whole.
            covered = covered and (
                _occurs_in(word, texts) or (has_number is not None and has_number(word))
            )
        if not covered:
            missing.append(word)
    return tuple(missing)


def missing_in_passages(
    question: str, passages: Iterable[str], *, common_above: float, at_least: int
) -> tuple[str, ...]:
    """The question's words that none of ``passages`` uses, when there are ``at_least`` of them,
    or when they are all the words that say what is asked.

    The library may mention "speed" and "noise" somewhere, yet when the passages retrieved for
    "Tell me the top driving speed of the Marten M5 X?" use neither "driving" nor "speed",
    the documents talk about the M5 X but not about what is asked. One missing word is often a
    paraphrase ("How long does it take" / "120 minutes"), so it takes ``at_least`` of them;
    very common words (Zipf ``common_above`` or more: "take", "long", "one") and the verbs
    that frame a question about a stated value ("cost": the record says "price") never count.
    Except when the passages use none of the question's :func:`asked_words`: "Brevik Robotics has
    how many employees?" retrieves passages about Brevik Robotics, and
    "employees", the one word that says what is asked, is in none of them.
    ``at_least <= 0`` switches the check off.
    """
    if at_least <= 0:
        return ()
    from wordfreq import zipf_frequency

    present = set(word_tokens([" ".join(passages)])[0])
    ordered = sorted(present)

    @cache  # an asked word is often also one of the less common words judged first
    def absent(word: str) -> bool:
        tokens = word_tokens([word])[0]
        return bool(tokens) and not any(related_terms(t, present, ordered) for t in tokens)

    missing = [
        word
        for word in dict.fromkeys(content_words(question))
        if word not in _NOT_ASKED
        and zipf_frequency(word, "en") < common_above
        and absent(word)
    ]
    if len(missing) >= at_least:
        return tuple(missing)
    asked = asked_words(question)
    if asked and all(absent(word) for word in asked):
        return tuple(asked)
    return ()


def asked_words(question: str) -> tuple[str, ...]:
    """The words that say what is asked: the question's content words typed in lower case.

    Names are capitalised ("Brevik Robotics", "Care Plus", "M5 X") and say what the question
    is about; the lower-case words ("employees", "discount", "range") say what about it.
    The first word is capitalised whatever it is, so it does not count either way; nor do the
    verbs that frame a question about a stated value ("cost", "take", "mean").
    A question that names the kind of answer it wants, a word right after "which", "what" or
    "whose", has none: it is answered by an instance that need not repeat the kind ("Which
    tree is Alpha 9?" by "Alpha 9 is iris."), and the kind may be all it asks ("What slope
    can the M5 X drive on?" by "rated for slopes up to 45%").
    """
    words = [m.group(0) for m in _TYPED_WORD.finditer(question)]
    asked = [
        (before.lower(), word.lower())
        for before, word in pairwise(words)
        if word.islower()
        and word.lower() not in _NOT_ASKED
        and content_words(word)
    ]
    if any(before in _ANSWER_KIND_BEFORE for before, _ in asked):
        return ()
    return tuple(dict.fromkeys(word for _, word in asked))


def named_numbers(question: str) -> list[tuple[str, str, re.Pattern[str]]]:
    """The question's numbers that follow a capitalised name, each with the pattern that finds
    the pair in a text: the name, up to two words, then the number or a longer version of it
    ("MartenOS 4.3" is mentioned by "MartenOS 4.3.0", "Windows 11" by "Windows 10 or 11")."""
    pairs = []
    for match in _NAMED_NUMBER.finditer(question):
        name, number = match.group(1), match.group(2)
        pattern = re.compile(
            rf"(?<![\w-]){re.escape(name)}\W+(?:[\w.]+\W+){{0,2}}?{re.escape(number)}"
            r"(?:\.\d+)*(?!\w|\.\d)",
            re.IGNORECASE,
        )
        pairs.append((name, number, pattern))
    return pairs


def decline_reason(missing: tuple[str, ...], where: str = "no document mentions") -> str:
    """What the user is told: which words of their question the documents never use."""
    quoted = ", ".join(f'"{w}"' for w in missing)
    return f"{where} {quoted}"


PASSAGES_LACK = "the passages found never mention"


def missing_words(
    index: Any, question: str, docs: Sequence[Document], settings: Settings
) -> tuple[tuple[str, ...], str]:
    """Both missing-words checks with the ``answer`` settings, for the chain and the eval:
    the question's words the documents never use, and the decline reason ((), "" if none)."""
    if not settings.answer.missing_terms:
        return (), ""
    labels = _labels(docs)
    missing = _missing_in_library(index, question, docs, labels, settings)
    if missing:
        return missing, decline_reason(missing)
    missing = missing_in_passages(
        question,
        [labels, *(d.page_content for d in docs)],
        common_above=settings.answer.common_word_zipf,
        at_least=settings.answer.missing_context_words,
    )
    return missing, decline_reason(missing, PASSAGES_LACK) if missing else ""


def _labels(docs: Sequence[Document]) -> str:
    # Words that name a retrieved chunk's file, title or section count too: "error E204" is
    # covered by a record of error_codes.json whose text only says "code: E204".
    return " ".join(
        f"{Path(str(d.metadata.get('source', ''))).stem.replace('_', ' ')} "
        f"{d.metadata.get('title', '')} {d.metadata.get('locator', '')}"
        for d in docs
    )


def _missing_in_library(
    index: Any, question: str, docs: Sequence[Document], labels: str, settings: Settings
) -> tuple[str, ...]:
    """:func:`missing_terms` against the whole collection of ``index`` (a DocumentIndex), the
    retrieved chunks ``docs`` and their ``labels``, with the ``answer`` settings."""
    # The collection's keyword index is the vocabulary: built once per version of the
    # collection, and already built whenever retrieval is hybrid or BM25.
    vocabulary = get_bm25_cache().index_for(index, settings)
    label_tokens = set(word_tokens([labels])[0])
    return missing_terms(
        question,
        lambda token: token in label_tokens or vocabulary.has_related_term(token),
        [d.page_content for d in docs],
        rare_below=settings.answer.rare_word_zipf,
        has_number=vocabulary.has_number,
        has_match=vocabulary.has_match,
    )
