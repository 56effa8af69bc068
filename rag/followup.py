"""Turning a follow-up ("and what about its warranty?") into a standalone question.

Two ways, chosen per backend: a rule that carries the previous question's key terms forward
(cheap, and what a 135M model needs), or asking the LLM to rewrite (better for large models).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from rag.context import content_words

# Words that point back at something said before.
_ANAPHORA = re.compile(
    r"\b(it|its|it's|they|them|their|theirs|this|that|these|those|there|he|she|his|her|one|"
    r"the same|else|also|too|instead|what about|how about|and)\b",
    re.IGNORECASE,
)

REWRITE_SYSTEM = (
    "Rewrite the user's last question as one standalone question that can be understood "
    "without the conversation. Keep names, codes and numbers exactly. Reply with the question "
    "only."
)


def needs_rewrite(question: str, history: Sequence[tuple[str, str]]) -> bool:
    """A follow-up that leans on the conversation: short, or pointing back with a pronoun."""
    if not history:
        return False
    return bool(_ANAPHORA.search(question)) or len(content_words(question)) <= 2


def rewrite_by_rule(question: str, history: Sequence[tuple[str, str]]) -> str:
    """Append the previous question's key terms that the follow-up does not already carry."""
    if not needs_rewrite(question, history):
        return question
    previous = history[-1][0]
    have = set(content_words(question))
    carried = [w for w in dict.fromkeys(content_words(previous)) if w not in have]
    if not carried:
        return question
    return f"{question.rstrip()} ({' '.join(carried)})"


def rewrite_by_llm(
    question: str, history: Sequence[tuple[str, str]], model: BaseChatModel
) -> str:
    """Ask the model for a standalone question; fall back to the rule if it returns nothing."""
    if not needs_rewrite(question, history):
        return question
    turns = "\n".join(f"User: {q}\nAssistant: {a}" for q, a in history[-3:])
    messages = [
        SystemMessage(REWRITE_SYSTEM),
        HumanMessage(f"Conversation:\n{turns}\n\nLast question: {question}\nStandalone question:"),
    ]
    text = str(model.invoke(messages).content).strip().splitlines()
    rewritten = text[0].strip().strip('"') if text else ""
    return rewritten or rewrite_by_rule(question, history)
