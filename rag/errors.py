"""Error hierarchy of the rag layer.

Everything below the UI/CLI raises these; one boundary shows them to the user.
"""

from __future__ import annotations

from ingest.errors import IngestError


class RagError(Exception):
    """Base of every error the application reports to a user."""


class ConfigError(RagError):
    """A setting or a registry name is invalid; the message lists the allowed values."""


class StoreError(RagError):
    """The vector store cannot be reached or refuses an operation."""


class MissingCollectionError(StoreError):
    """A collection opened only if it exists (``create=False``) is not in the store."""


class EmbeddingMismatchError(StoreError):
    """A collection built with one embedding model was asked to take vectors of another."""


class QuestionTooLongError(RagError):
    """A question longer than the ``answer.max_question_chars`` setting; refused unread."""


class BackendError(RagError):
    """An LLM backend failed (unreachable, unauthorised, rate-limited, cut stream...)."""


__all__ = [
    "BackendError",
    "ConfigError",
    "EmbeddingMismatchError",
    "IngestError",
    "QuestionTooLongError",
    "RagError",
    "StoreError",
]
