"""The one place errors become messages on the page.

Expected failures (``RagError``, ``IngestError``) show their own message; anything else shows
its type only, never a traceback. Whatever is shown has the session's API key masked, in case a
third-party message echoes it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from ingest.errors import IngestError
from rag.errors import RagError

log = logging.getLogger(__name__)


def mask_secret(message: str, secret: str | None) -> str:
    if secret and len(secret) >= 4:
        message = message.replace(secret, "***")
    return message


def current_api_key() -> str | None:
    value = st.session_state.get("api_key")
    return value or None


def show_error(exc: BaseException) -> None:
    secret = current_api_key()
    if isinstance(exc, RagError | IngestError):
        st.error(mask_secret(str(exc), secret), icon=":material/error:")
        return
    # Unexpected: keep the details in the server log (type and message, no locals) for a
    # developer, show the user only what kind of failure it was.
    log.error("unexpected error: %s", mask_secret(repr(exc), secret))
    st.error(
        f"Something went wrong ({type(exc).__name__}). The details are in the server log.",
        icon=":material/error:",
    )


@contextmanager
def error_boundary() -> Iterator[None]:
    """Show errors raised inside as a message; Streamlit's rerun/stop signals pass through
    (they derive from BaseException, not Exception)."""
    try:
        yield
    except Exception as exc:
        show_error(exc)
