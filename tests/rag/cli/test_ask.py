"""rag/cli/ask.py: what ``python -m rag ask`` prints, from a real chain over a real index.

The model is scripted so the grounding check's verdict is known in advance; the subprocess
test runs the real CLI end to end on a question it declines before any model is loaded.
"""

from __future__ import annotations

import io

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from rag.answer.chain import ChatService
from rag.answer.reply import AskRequest
from rag.cli.ask import WITHDRAWN, settings_for_ask, write_answer
from rag.cli.main import build_parser
from rag.settings import Settings, StoreSettings
from rag.store.index import DocumentIndex
from tests.rag.cli.test_main import rag
from tests.rag.conftest import unique_collection

ATLAS = (
    "# Atlas of Mongolia\n\n## Capital\n\n"
    "In this atlas the capital of Mongolia is Zanabazar City, founded in 1639.\n"
)
QUESTION = "What is the capital of Mongolia in this atlas?"


@pytest.fixture(scope="module")
def index(tmp_path_factory, embeddings) -> DocumentIndex:
    folder = tmp_path_factory.mktemp("ask-docs")
    (folder / "atlas.md").write_text(ATLAS, encoding="utf-8")
    settings = Settings(store=StoreSettings(mode="memory", collection=unique_collection()))
    idx = DocumentIndex(settings, embeddings=embeddings)
    assert idx.ingest_paths([folder]).failed == 0
    return idx


def printed(index: DocumentIndex, reply: str) -> str:
    model = GenericFakeChatModel(messages=iter([AIMessage(reply)]))
    settings = index.settings.model_copy(
        update={"answer": index.settings.answer.model_copy(update={"reply": "generate"})})
    service = ChatService(index, chat_model=model, settings=settings)
    out = io.StringIO()
    write_answer(service.stream(AskRequest(QUESTION)), out)
    return out.getvalue()


def test_an_unsupported_streamed_answer_is_marked_withdrawn_before_the_quote(index):
    text = printed(index, "The capital of Mongolia is Beijing [1]")
    streamed, rest = text.split(f"[withdrawn: {WITHDRAWN}]\n")
    assert "Beijing" in streamed  # a terminal cannot take it back: it is on screen, marked
    assert "Beijing" not in rest
    assert "Zanabazar City" in rest and "Beijing" not in rest
    assert "[quoted from the sources" in rest
    assert "\nSources:\n*[1] " in rest


def test_a_supported_answer_is_printed_once_without_a_mark(index):
    text = printed(index, "Zanabazar City [1]")
    assert "withdrawn" not in text
    assert text.count("Zanabazar City [1]") == 1
    assert "\nSources:\n*[1] " in text


def test_reply_option_sets_who_writes_the_reply():
    parser = build_parser()
    base = Settings()
    assert settings_for_ask(parser.parse_args(["ask", "q"]), base).answer.reply == "auto"
    chosen = settings_for_ask(parser.parse_args(["ask", "q", "--reply", "generate"]), base)
    assert chosen.answer.reply == "generate" and chosen.llm == base.llm
    with pytest.raises(SystemExit):
        parser.parse_args(["ask", "q", "--reply", "poem"])


def _ingest_atlas(tmp_path) -> None:
    """The atlas ingested by the CLI into tmp_path's own store."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "atlas.md").write_text(ATLAS, encoding="utf-8")
    assert rag(tmp_path, "ingest", "docs").returncode == 0


@pytest.mark.slow
def test_by_default_the_cli_quotes_the_answering_sentence_at_once(tmp_path):
    _ingest_atlas(tmp_path)
    asked = rag(tmp_path, "ask", QUESTION)
    assert asked.returncode == 0, asked.stderr
    reply, _, rest = asked.stdout.partition("\n")
    assert "Zanabazar City" in reply and "[1]" in reply
    assert rest.lstrip().startswith("[quoted from the sources]") and "withdrawn" not in rest
    assert "docs/atlas.md" in rest


@pytest.mark.slow
def test_the_cli_declines_a_question_the_documents_do_not_answer(tmp_path):
    _ingest_atlas(tmp_path)
    asked = rag(tmp_path, "ask", "Who won the 1998 football world cup?")
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.startswith("The documents do not contain the answer")
    assert "[declined: the documents do not contain the answer]" in asked.stdout
    assert "Closest passages:" in asked.stdout and "docs/atlas.md" in asked.stdout


@pytest.mark.slow
def test_the_cli_refuses_a_question_over_the_length_limit(tmp_path):
    # Nothing is ingested: the question is refused before the index or a model is opened.
    asked = rag(tmp_path, "ask", "Why? " * 401)  # 2,005 characters
    assert asked.returncode == 2, asked.stdout
    assert asked.stderr.startswith(
        "error: The question is 2,005 characters long; the limit is 2,000")
    assert asked.stdout == ""
    shorter = rag(tmp_path, "ask", "Why so long a question?",
                  env={"RAG_ANSWER__MAX_QUESTION_CHARS": "10"})
    assert shorter.returncode == 2
    assert "23 characters long; the limit is 10" in shorter.stderr
