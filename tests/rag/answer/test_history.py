"""Conversations persist in SQLite: rename, clear, delete, export with numbered sources."""

import sqlite3
import threading

import pytest

from rag.answer.history import DEFAULT_TITLE, ChatHistory, history_path
from rag.answer.reply import Source
from rag.errors import RagError
from rag.settings import Settings

SOURCE = Source(
    number=1,
    doc_id="abc123",
    source="manual.pdf",
    title="Aurora X2 manual",
    format="pdf",
    locator="page 2",
    score=0.8123,
    snippet="The battery holds 5,000 mAh.",
    highlights=((4, 11), (12, 17)),
    chunk_id="abc123:ff:0",
)


@pytest.fixture
def history(tmp_path):
    return ChatHistory.from_settings(Settings(data_dir=tmp_path))


def test_store_lives_under_data_dir_in_wal_mode(history, tmp_path):
    history.create()
    assert history.path == tmp_path / "chats" / "chats.sqlite3"
    assert history_path(Settings(data_dir=tmp_path)) == history.path
    with sqlite3.connect(history.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_messages_round_trip_with_sources_and_survive_a_new_store(history):
    chat = history.create()
    history.add_message(chat.id, "user", "How big is the battery?")
    history.add_message(
        chat.id, "assistant", "5,000 mAh [1]", sources=[SOURCE], path="generated",
        standalone="How big is the Aurora X2 battery?",
    )
    reopened = ChatHistory(history.path)  # as after a restart
    messages = reopened.messages(chat.id)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].sources == (SOURCE,)
    assert messages[1].path == "generated"
    assert messages[1].standalone == "How big is the Aurora X2 battery?"
    assert reopened.qa_pairs(chat.id) == (("How big is the battery?", "5,000 mAh [1]"),)


def test_first_question_names_a_new_chat_and_rename_overrides_it(history):
    chat = history.create()
    assert chat.title == DEFAULT_TITLE
    history.add_message(chat.id, "user", "What   is the warranty\nperiod?")
    assert history.get(chat.id).title == "What is the warranty period?"
    history.add_message(chat.id, "user", "Second question")
    assert history.get(chat.id).title == "What is the warranty period?"
    history.rename(chat.id, "Warranty")
    assert history.get(chat.id).title == "Warranty"
    history.rename(chat.id, "   ")
    assert history.get(chat.id).title == DEFAULT_TITLE


def test_long_first_question_gives_a_short_title(history):
    chat = history.create()
    history.add_message(chat.id, "user", "word " * 50)
    assert len(history.get(chat.id).title) <= 60


def test_clear_keeps_the_conversation_delete_removes_it(history):
    keep, gone = history.create("Keep"), history.create("Gone")
    for chat in (keep, gone):
        history.add_message(chat.id, "user", "q")
        history.add_message(chat.id, "assistant", "a")
    history.clear(keep.id)
    assert history.messages(keep.id) == []
    assert history.get(keep.id).title == "Keep"
    history.delete(gone.id)
    assert [c.id for c in history.list_conversations()] == [keep.id]
    with sqlite3.connect(history.path) as conn:  # messages went with their conversation
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
    with pytest.raises(RagError):
        history.get(gone.id)


def test_conversations_listed_most_recent_first(history):
    old, new = history.create("old"), history.create("new")
    history.add_message(old.id, "user", "bump")
    assert [c.title for c in history.list_conversations()] == ["old", "new"]
    assert {c.id for c in history.list_conversations()} == {old.id, new.id}


def test_adding_to_a_missing_conversation_is_an_error(history):
    with pytest.raises(RagError, match="No conversation"):
        history.add_message("nope", "user", "hello")


def test_export_markdown_has_questions_answers_and_numbered_sources(history):
    chat = history.create("Battery")
    history.add_message(chat.id, "user", "How big is the battery?")
    history.add_message(chat.id, "assistant", "5,000 mAh [1]", sources=[SOURCE], path="generated")
    markdown = history.export_markdown(chat.id)
    assert markdown.startswith("# Battery\n")
    assert "How big is the battery?" in markdown
    assert "5,000 mAh [1]" in markdown
    assert "1. Aurora X2 manual, page 2 (score 0.81)" in markdown
    assert "generated and verified" in markdown


def test_concurrent_writers_lose_nothing(history):
    chat = history.create()

    def write(n):
        for i in range(20):
            history.add_message(chat.id, "user", f"{n}-{i}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(history.messages(chat.id)) == 80


# -- owners ----------------------------------------------------------------------------------
def test_one_owner_cannot_list_read_change_export_or_delete_anothers_chats(tmp_path):
    path = tmp_path / "chats.sqlite3"
    alice, bob = ChatHistory(path, "alice"), ChatHistory(path, "bob")
    secret = bob.create("Bob's merger plan")
    bob.add_message(secret.id, "user", "When do we announce the merger?")
    mine = alice.create()
    alice.add_message(mine.id, "user", "Descaling interval?")

    assert [c.id for c in alice.list_conversations()] == [mine.id]
    assert alice.messages(secret.id) == []
    assert alice.qa_pairs(secret.id) == ()
    for attempt in (
        lambda: alice.get(secret.id),
        lambda: alice.export_markdown(secret.id),
        lambda: alice.rename(secret.id, "taken"),
        lambda: alice.clear(secret.id),
        lambda: alice.add_message(secret.id, "user", "planted"),
    ):
        with pytest.raises(RagError, match="No conversation"):
            attempt()
    alice.delete(secret.id)

    assert bob.get(secret.id).title == "Bob's merger plan"
    assert [m.text for m in bob.messages(secret.id)] == ["When do we announce the merger?"]
    assert [c.id for c in bob.list_conversations()] == [secret.id]
    # Without sign-in the owner is "": it sees neither user's chats.
    assert ChatHistory(path).list_conversations() == []


def test_a_file_from_before_owners_keeps_its_chats_for_the_app_without_sign_in(tmp_path):
    path = tmp_path / "chats.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE conversations (id TEXT PRIMARY KEY, title TEXT NOT NULL, "
            "created REAL NOT NULL, updated REAL NOT NULL);"
            "INSERT INTO conversations VALUES ('old1', 'Old chat', 1.0, 1.0);"
        )
    assert [c.title for c in ChatHistory(path).list_conversations()] == ["Old chat"]
    assert ChatHistory(path, "alice").list_conversations() == []
