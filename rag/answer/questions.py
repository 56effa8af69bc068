"""Checks a question must pass before any work is done for it (retrieval, embedding, LLM).

The app's chat box, the CLI and the chain all call :func:`check_question_length`, so no
entry point answers a question longer than the setting allows.
"""

from __future__ import annotations

from rag.errors import QuestionTooLongError
from rag.settings import Settings


def check_question_length(question: str, settings: Settings) -> None:
    """Raise :class:`QuestionTooLongError` (a ``RagError``: the CLI and app show its message)
    when ``question`` exceeds ``settings.answer.max_question_chars`` characters."""
    limit = settings.answer.max_question_chars
    if len(question) > limit:
        raise QuestionTooLongError(
            f"The question is {len(question):,} characters long; the limit is {limit:,} "
            "(setting answer.max_question_chars). Ask it in fewer words."
        )
