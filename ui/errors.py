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
from ui.untrusted import inert_markdown

log = logging.getLogger(__name__)


def mask_secrets(message: str, secrets: list[str]) -> str:
    for secret in secrets:
        if len(secret) >= 4:
            message = message.replace(secret, "***")
    return message


def session_api_keys() -> list[str]:
    """The API keys typed into this session (one password field per backend)."""
    return [
        str(value)
        for key, value in st.session_state.items()
        if str(key).startswith("api_key-") and value
    ]


def show_error(exc: BaseException) -> None:
    secrets = session_api_keys()
    if isinstance(exc, RagError | IngestError):
        # Messages quote file names, URLs and what a remote server said: shown as text.
        st.error(inert_markdown(mask_secrets(str(exc), secrets)), icon=":material/error:")
        return
    # Unexpected: keep the details in the server log (type and message, no locals) for a
    # developer, show the user only what kind of failure it was.
    log.error("unexpected error: %s", mask_secrets(repr(exc), secrets))
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
