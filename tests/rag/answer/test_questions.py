"""rag/answer/questions.py: a question over the length limit is refused with a clear message."""

import pytest

from rag.answer.questions import check_question_length
from rag.errors import QuestionTooLongError, RagError
from rag.settings import AnswerSettings, Settings


def test_the_default_limit_is_two_thousand_characters():
    settings = Settings()
    assert settings.answer.max_question_chars == 2000
    check_question_length("x" * 2000, settings)  # at the limit: accepted
    with pytest.raises(QuestionTooLongError) as caught:
        check_question_length("x" * 2001, settings)
    assert isinstance(caught.value, RagError)  # the CLI and the app show RagErrors' messages
    assert str(caught.value).startswith(
        "The question is 2,001 characters long; the limit is 2,000 "
        "(setting answer.max_question_chars).")


def test_the_limit_is_a_setting():
    settings = Settings(answer=AnswerSettings(max_question_chars=12))
    check_question_length("Short enough", settings)
    with pytest.raises(QuestionTooLongError, match="13 characters long; the limit is 12"):
        check_question_length("Short enough?", settings)


def test_the_limit_must_be_positive():
    with pytest.raises(ValueError, match="max_question_chars"):
        AnswerSettings(max_question_chars=0)
