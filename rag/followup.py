"""Turning a follow-up ("and what about its warranty?") into a standalone question.

Two ways, chosen per backend: a rule that carries the previous question's key terms forward
(cheap, and what a 135M model needs), or asking the LLM to rewrite (better for large models).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from rag.context import content_words

REWRITE_SYSTEM = (
    "Rewrite the user's last question as one standalone question that can be understood "
    "without the conversation. Keep names, codes and numbers exactly. Reply with the question "
    "only."
)
# How many of the previous question's most specific words a follow-up carries.
CARRIED_WORDS = 2

Weigh = Callable[[str], float]


def carried_words(question: str, previous: str, weigh: Weigh | None = None) -> list[str]:
    """The previous question's words a follow-up should carry: its subject.

    With ``weigh`` (a word's specificity in the collection, such as its inverse document
    frequency) the ``CARRIED_WORDS`` most specific words the follow-up lacks, unless the
    follow-up names something at least as specific itself (then it has its own subject).
    Without it, every content word of the previous question the follow-up lacks.
    """
    have = set(content_words(question))
    missing = [w for w in dict.fromkeys(content_words(previous)) if w not in have]
    if weigh is None or not missing:
        return missing
    ranked = sorted(missing, key=weigh, reverse=True)[:CARRIED_WORDS]
    own = max((weigh(w) for w in have), default=0.0)
    if own >= weigh(ranked[0]):
        return []
    return ranked


def rewrite_by_rule(
    question: str, history: Sequence[tuple[str, str]], weigh: Weigh | None = None
) -> str:
    """The follow-up with the previous question's subject appended (see :func:`carried_words`).

    Every question asked after another is treated so: whether it leans on the previous one
    cannot be read from its wording (many follow-ups have no pronoun: "What should be used
    instead?", "What was it in the older version?"), and one that names its own subject
    carries nothing.
    """
    if not history:
        return question
    carried = carried_words(question, history[-1][0], weigh)
    if not carried:
        return question
    return f"{question.rstrip()} ({' '.join(carried)})"


def rewrite_by_llm(
    question: str, history: Sequence[tuple[str, str]], model: BaseChatModel
) -> str:
    """Ask the model for a standalone question; fall back to the rule if it returns nothing."""
    if not history:
        return question
    turns = "\n".join(f"User: {q}\nAssistant: {a}" for q, a in history[-3:])
    messages = [
        SystemMessage(REWRITE_SYSTEM),
        HumanMessage(f"Conversation:\n{turns}\n\nLast question: {question}\nStandalone question:"),
    ]
    text = str(model.invoke(messages).content).strip().splitlines()
    rewritten = text[0].strip().strip('"') if text else ""
    return rewritten or rewrite_by_rule(question, history)
