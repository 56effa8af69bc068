"""Conversation store: chats survive a page refresh and a restart.

SQLite under ``settings.data_dir / "chats" / "chats.sqlite3"`` in WAL mode, so several app
sessions (threads or processes) can read while one writes. A connection is opened per operation:
Streamlit runs each session in its own thread and sqlite3 connections must not cross threads.

Only what the user saw is stored (question, reply, its sources, the reply path, the standalone
question). Backend settings, and so API keys, never reach this module.

Every conversation has an owner, and a ``ChatHistory`` is one owner's view: it lists, reads,
changes, exports and deletes only that owner's conversations (another's id reads as unknown).
The owner is the signed-in user name, or "" for the app without sign-in.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from rag.answer.reply import PATH_LABELS, Source
from rag.errors import RagError
from rag.settings import Settings, get_settings
from rag.sqlite_db import connect

Role = Literal["user", "assistant"]
DEFAULT_TITLE = "New chat"
_TITLE_CHARS = 60  # an auto title is the first question, cut to fit the sidebar

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    text TEXT NOT NULL,
    sources TEXT NOT NULL DEFAULT '[]',
    path TEXT NOT NULL DEFAULT '',
    standalone TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id, id);
"""
# Files written before conversations had owners: their chats belong to "" (no sign-in).
_ADD_OWNER = "ALTER TABLE conversations ADD COLUMN owner TEXT NOT NULL DEFAULT ''"
_OWNER_INDEX = "CREATE INDEX IF NOT EXISTS conversations_by_owner ON conversations(owner, updated)"
_COLUMNS = "id, title, created, updated"


def _add_owner(conn: sqlite3.Connection) -> None:
    """Chats saved before sign-in existed get the owner column (the empty owner)."""
    columns = {row["name"] for row in conn.execute("PRAGMA table_info(conversations)")}
    if "owner" not in columns:
        conn.execute(_ADD_OWNER)
    conn.execute(_OWNER_INDEX)


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    created: float
    updated: float


@dataclass(frozen=True)
class ChatMessage:
    id: int
    conversation_id: str
    role: Role
    text: str
    sources: tuple[Source, ...] = ()
    path: str = ""  # reply path of an assistant message: generated / quoted / declined
    standalone: str = ""  # the rewritten standalone question, when the user's was a follow-up
    created: float = 0.0


def history_path(settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    return settings.data_dir / "chats" / "chats.sqlite3"


class ChatHistory:
    """One owner's conversations and their messages, in one SQLite file shared by all owners."""

    def __init__(self, path: Path, owner: str = "") -> None:
        self.path = Path(path)
        self.owner = owner

    @classmethod
    def from_settings(cls, settings: Settings | None = None, owner: str = "") -> ChatHistory:
        return cls(history_path(settings), owner)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return connect(self.path, _SCHEMA, "chat history", _add_owner)

    # -- conversations -------------------------------------------------------------------
    def create(self, title: str = DEFAULT_TITLE) -> Conversation:
        now = time.time()
        conversation = Conversation(uuid.uuid4().hex[:12], _clean_title(title), now, now)
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO conversations (id, owner, title, created, updated) "
                "VALUES (?, ?, ?, ?, ?)",
                (conversation.id, self.owner, conversation.title, now, now),
            )
        return conversation

    def list_conversations(self) -> list[Conversation]:
        """Most recently used first."""
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM conversations WHERE owner = ? "
                "ORDER BY updated DESC, created DESC",
                (self.owner,),
            ).fetchall()
        return [Conversation(**dict(row)) for row in rows]

    def get(self, conversation_id: str) -> Conversation:
        with self._connect() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM conversations WHERE id = ? AND owner = ?",
                (conversation_id, self.owner),
            ).fetchone()
        if row is None:
            raise RagError(f"No conversation with id {conversation_id!r}.")
        return Conversation(**dict(row))

    def rename(self, conversation_id: str, title: str) -> Conversation:
        with self._connect() as conn:
            changed = conn.execute(
                "UPDATE conversations SET title = ? WHERE id = ? AND owner = ?",
                (_clean_title(title), conversation_id, self.owner),
            ).rowcount
        if not changed:
            raise RagError(f"No conversation with id {conversation_id!r}.")
        return self.get(conversation_id)

    def clear(self, conversation_id: str) -> None:
        """Remove the messages, keep the conversation (and its title)."""
        with self._connect() as conn:
            self._check_owned(conn, conversation_id)
            conn.execute("DELETE FROM messages WHERE conversation_id = ?", (conversation_id,))
            conn.execute(
                "UPDATE conversations SET updated = ? WHERE id = ?", (time.time(), conversation_id)
            )

    def delete(self, conversation_id: str) -> None:
        """Delete the conversation and its messages; another owner's id changes nothing."""
        with self._connect() as conn:
            conn.execute(
                "DELETE FROM conversations WHERE id = ? AND owner = ?",
                (conversation_id, self.owner),
            )

    def _check_owned(self, conn: sqlite3.Connection, conversation_id: str) -> sqlite3.Row:
        row = conn.execute(
            "SELECT title FROM conversations WHERE id = ? AND owner = ?",
            (conversation_id, self.owner),
        ).fetchone()
        if row is None:
            raise RagError(f"No conversation with id {conversation_id!r}.")
        return row

    # -- messages ------------------------------------------------------------------------
    def add_message(
        self,
        conversation_id: str,
        role: Role,
        text: str,
        *,
        sources: Sequence[Source] = (),
        path: str = "",
        standalone: str = "",
    ) -> ChatMessage:
        now = time.time()
        sources_json = json.dumps([asdict(s) for s in sources], ensure_ascii=False)
        with self._connect() as conn:
            row = self._check_owned(conn, conversation_id)
            cursor = conn.execute(
                "INSERT INTO messages (conversation_id, role, text, sources, path, standalone, "
                "created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, role, text, sources_json, path, standalone, now),
            )
            # A fresh chat is named after its first question, like the chat apps users know.
            title = row["title"]
            if role == "user" and title == DEFAULT_TITLE:
                title = _clean_title(text)
            conn.execute(
                "UPDATE conversations SET updated = ?, title = ? WHERE id = ?",
                (now, title, conversation_id),
            )
        return ChatMessage(
            id=int(cursor.lastrowid or 0),
            conversation_id=conversation_id,
            role=role,
            text=text,
            sources=tuple(sources),
            path=path,
            standalone=standalone,
            created=now,
        )

    def messages(self, conversation_id: str) -> list[ChatMessage]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT m.id, m.conversation_id, m.role, m.text, m.sources, m.path, "
                "m.standalone, m.created FROM messages AS m "
                "JOIN conversations AS c ON c.id = m.conversation_id "
                "WHERE m.conversation_id = ? AND c.owner = ? ORDER BY m.id",
                (conversation_id, self.owner),
            ).fetchall()
        return [_message_from_row(row) for row in rows]

    def qa_pairs(self, conversation_id: str) -> tuple[tuple[str, str], ...]:
        """(question, answer) pairs, oldest first: the history a follow-up is rewritten with."""
        pairs: list[tuple[str, str]] = []
        question: str | None = None
        for message in self.messages(conversation_id):
            if message.role == "user":
                question = message.text
            elif question is not None:
                pairs.append((question, message.text))
                question = None
        return tuple(pairs)

    # -- export --------------------------------------------------------------------------
    def export_markdown(self, conversation_id: str) -> str:
        conversation = self.get(conversation_id)
        return conversation_markdown(conversation, self.messages(conversation_id))


def conversation_markdown(conversation: Conversation, messages: Sequence[ChatMessage]) -> str:
    """The conversation as Markdown, each answer followed by its numbered sources."""
    created = time.strftime("%Y-%m-%d %H:%M", time.localtime(conversation.created))
    lines = [f"# {conversation.title}", "", f"_Started {created}_", ""]
    for message in messages:
        if message.role == "user":
            lines += ["## Question", "", message.text, ""]
            continue
        lines += ["## Answer", "", message.text, ""]
        if message.path in PATH_LABELS:
            lines += [f"_Reply {PATH_LABELS[message.path]}._", ""]
        if message.standalone:
            lines += [f"_Searched as: {message.standalone}_", ""]
        if message.sources:
            lines += ["Sources:", ""]
            for source in message.sources:
                name = source.title or source.source
                where = f", {source.locator}" if source.locator else ""
                lines.append(f"{source.number}. {name}{where} (score {source.score:.2f})")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _clean_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        return DEFAULT_TITLE
    return title if len(title) <= _TITLE_CHARS else title[: _TITLE_CHARS - 1].rstrip() + "…"


def _message_from_row(row: sqlite3.Row) -> ChatMessage:
    sources = tuple(_source_from_dict(d) for d in json.loads(row["sources"] or "[]"))
    return ChatMessage(
        id=row["id"],
        conversation_id=row["conversation_id"],
        role=row["role"],
        text=row["text"],
        sources=sources,
        path=row["path"],
        standalone=row["standalone"],
        created=row["created"],
    )


def _source_from_dict(data: dict) -> Source:
    data = dict(data)
    # JSON has no tuples: restore the frozen dataclass's shapes.
    data["highlights"] = tuple(tuple(span) for span in data.get("highlights", ()))
    return Source(**data)
