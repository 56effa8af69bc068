"""One way to open the app's small SQLite files (chats, collection owners): WAL, a schema
applied on open, one transaction per use, and errors as ``RagError`` naming what the file is."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.errors import RagError


@contextmanager
def connect(
    path: Path, schema: str, what: str,
    prepare: Callable[[sqlite3.Connection], None] | None = None,
) -> Iterator[sqlite3.Connection]:
    """A connection to ``path`` with ``schema`` applied (then ``prepare``, for upgrades), in
    one transaction: committed on leaving, rolled back on an error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path, timeout=10.0)
    except sqlite3.Error as exc:
        raise RagError(f"Cannot open the {what} at {path}: {exc}") from exc
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(schema)
        if prepare is not None:
            prepare(conn)
        with conn:
            yield conn
    except sqlite3.Error as exc:
        raise RagError(f"{what[0].upper()}{what[1:]} error: {exc}") from exc
    finally:
        conn.close()
