"""Who may see and manage which collection once sign-in is on.

A collection a signed-in user creates is theirs and private: only they (and admins) see it,
until they share it with every signed-in user. A collection with no record (the configured
default, one made by the CLI or before sign-in) belongs to nobody: everyone sees it, only
admins delete it. Without sign-in (``user`` None) everything is visible and manageable, as
before.

The records are SQLite under ``settings.data_dir / "collections.sqlite3"``, beside the chats
and for the same reason (one small file per app host; see README, Serving to a team). A
connection is opened per operation: Streamlit sessions run in their own threads.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from rag.access.users import User
from rag.errors import ConfigError, RagError
from rag.settings import Settings
from rag.sqlite_db import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS collections (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    shared INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
"""


@dataclass(frozen=True)
class CollectionAccess:
    name: str
    owner: str
    shared: bool


def access_path(settings: Settings) -> Path:
    return settings.data_dir / "collections.sqlite3"


def may_see(access: CollectionAccess | None, user: User | None) -> bool:
    if user is None or access is None or user.is_admin:
        return True
    return access.shared or access.owner == user.username


def may_manage(access: CollectionAccess | None, user: User | None) -> bool:
    """Delete it, and (with an owner) share or unshare it."""
    if user is None or user.is_admin:
        return True
    return access is not None and access.owner == user.username


class CollectionOwners:
    """Owner and share setting of the collections users created."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def from_settings(cls, settings: Settings) -> CollectionOwners:
        return cls(access_path(settings))

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return connect(self.path, _SCHEMA, "collection owners")

    def get(self, name: str) -> CollectionAccess | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT name, owner, shared FROM collections WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else CollectionAccess(row["name"], row["owner"],
                                                         bool(row["shared"]))

    def visible(self, names: Iterable[str], user: User | None) -> list[str]:
        """The ``names`` ``user`` may see, in their order."""
        if user is None or user.is_admin:
            return list(names)  # no need to open the file (nor create it without sign-in)
        return [name for name in names if may_see(self.get(name), user)]

    def claim(self, name: str, owner: str) -> CollectionAccess:
        """Record a new collection as ``owner``'s, private; a name taken already is refused."""
        try:
            with self._connect() as conn:
                conn.execute(
                    "INSERT INTO collections (name, owner, shared, created) VALUES (?, ?, 0, ?)",
                    (name, owner, time.time()),
                )
        except RagError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise ConfigError(f"A collection named {name!r} exists already.") from exc
            raise
        return CollectionAccess(name, owner, False)

    def set_shared(self, name: str, shared: bool) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE collections SET shared = ? WHERE name = ?", (int(shared), name))

    def forget(self, name: str) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM collections WHERE name = ?", (name,))
