"""The sidebar: chats, model backend, prompt and decoding, retrieval, library (store + collection).

Every choice lives in this session only. The API key is a password widget's value in
``st.session_state`` and reaches the backend inside a per-session Settings copy as a SecretStr;
nothing here writes it anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import streamlit as st

from rag.llm.presets import (
    list_decoding_presets,
    list_prompt_presets,
    load_decoding_preset,
    load_prompt_preset,
)
from rag.settings import AnswerSettings, Settings, StoreMode, StoreSettings
from rag.store.uploads import for_owner
from ui import backends, library
from ui.auth import current_owner, may_change_server_settings
from ui.errors import error_boundary
from ui.resources import get_history
from ui.untrusted import inert_markdown

CHAT_PAGE = "ui/pages/chat_page.py"
_STORE_LABELS = {"memory": "In memory", "disk": "On disk", "server": "Chroma server"}
REPLY_LABELS = {"auto": "Auto", "generate": "Model", "quote": "Quote"}
_MODE_LABELS = {"dense": "Dense", "mmr": "MMR (diverse)", "bm25": "BM25 (keywords)",
                "hybrid": "Hybrid (dense + BM25)"}


@dataclass(frozen=True)
class SidebarChoices:
    """What the user picked; the pages read it instead of reaching into widgets."""

    settings: Settings  # a per-session copy: backend, model, key, store mode and location
    collection: str
    prompt_preset: str
    decoding_preset: str
    decoding_overrides: tuple[tuple[str, Any], ...]
    retrieval_mode: str
    k: int
    min_score: float


def base_settings() -> Settings:
    """Settings read from the environment once per session (the defaults of every widget)."""
    if "base_settings" not in st.session_state:
        st.session_state["base_settings"] = Settings()
    return st.session_state["base_settings"]


def current_choices() -> SidebarChoices:
    return st.session_state["choices"]


def render_sidebar() -> SidebarChoices:
    base = base_settings()
    # Server-wide choices (store location and mode, endpoints, keys, model folders) are the
    # admin's once sign-in is on; a user works with what the server is configured with.
    admin = may_change_server_settings()
    with st.sidebar:
        _render_chats(base)
        st.divider()
        with st.expander("Model", icon=":material/smart_toy:", expanded=True):
            llm = (backends.render_backend_section(base) if admin
                   else backends.render_configured_backend(base))
        with st.expander("Prompt & decoding", icon=":material/tune:"):
            answer = _render_reply(base, llm.backend)
            prompt_preset, decoding_preset, overrides = _render_presets(base, llm.backend)
        with st.expander("Retrieval", icon=":material/manage_search:"):
            mode, k, min_score = _render_retrieval(base)
        with st.expander("Library", icon=":material/database:"):
            store = _render_store(base) if admin else base.store
            settings = for_owner(
                base.model_copy(update={"llm": llm, "store": store, "answer": answer}),
                current_owner())
            collection = library.render_collection_picker(settings)
    choices = SidebarChoices(
        settings=settings,
        collection=collection,
        prompt_preset=prompt_preset,
        decoding_preset=decoding_preset,
        decoding_overrides=overrides,
        retrieval_mode=mode,
        k=k,
        min_score=min_score,
    )
    st.session_state["choices"] = choices
    return choices


# -- chats -----------------------------------------------------------------------------------
def _render_chats(base: Settings) -> None:
    history = get_history(base, current_owner())
    if st.button("New chat", icon=":material/add_comment:", width="stretch", type="primary"):
        st.session_state["conversation_id"] = history.create().id
        st.switch_page(CHAT_PAGE)
    with error_boundary():
        conversations = history.list_conversations()[:12]
        current = st.session_state.get("conversation_id")
        if conversations:
            st.caption("Recent chats")
        for conversation in conversations:
            active = conversation.id == current
            if st.button(
                inert_markdown(conversation.title),  # a label is Markdown: images render
                key=f"open-{conversation.id}",
                icon=":material/chat_bubble:" if active else ":material/chat_bubble_outline:",
                type="secondary" if active else "tertiary",
                width="stretch",
            ):
                st.session_state["conversation_id"] = conversation.id
                st.rerun()


# -- prompt and decoding ---------------------------------------------------------------------
def _render_reply(base: Settings, backend: str) -> AnswerSettings:
    from rag.answer.chain import reply_mode

    choice = st.segmented_control(
        "Reply",
        list(REPLY_LABELS),
        default=base.answer.reply,
        format_func=lambda m: REPLY_LABELS[m],
        key="answer_reply",
        help="Model: the LLM writes the answer and it is checked against the sources (a quote "
        "replaces it when the check fails). Quote: the sentence that best answers is quoted "
        "with its source, without asking the LLM. Auto: quote with the small local model, "
        "whose checked answers were no more often right than the quote and took four to five "
        "times as long; the model writes with a remote backend.",
    ) or base.answer.reply
    answer = base.answer.model_copy(update={"reply": choice})
    effective = reply_mode(base.model_copy(update={
        "answer": answer, "llm": base.llm.model_copy(update={"backend": backend})}))
    if effective == "quote":
        st.caption(":material/format_quote: Replies quote the documents; the presets below "
                   "apply when the model writes.")
    return answer


def _render_presets(
    base: Settings, backend: str
) -> tuple[str, str, tuple[tuple[str, Any], ...]]:
    prompts = list_prompt_presets()
    prompt_name = st.selectbox(
        "Prompt preset", prompts, index=_index_of(prompts, base.prompt_preset), key="prompt_preset"
    )
    prompt = load_prompt_preset(prompt_name)
    st.caption(prompt.description)
    st.code(prompt.fixed_text() or prompt.template, language=None, wrap_lines=True, height=160)

    decodings = list_decoding_presets()
    # A prompt preset names the decoding it was written for; it is the default until changed.
    decoding_name = st.selectbox(
        "Decoding preset",
        decodings,
        index=_index_of(decodings, prompt.decoding or base.decoding_preset),
        key=f"decoding_preset-{prompt_name}",
    )
    decoding = load_decoding_preset(decoding_name)
    st.caption(decoding.description)
    unsupported = backends.unsupported_decoding(backend)
    values = backends.render_decoding_sliders(decoding, unsupported, key=decoding_name)
    overrides = tuple(
        (name, value) for name, value in values.items() if getattr(decoding, name) != value
    )
    return prompt_name, decoding_name, overrides


# -- retrieval -------------------------------------------------------------------------------
def _render_retrieval(base: Settings) -> tuple[str, int, float]:
    from rag.retrieval.modes import RETRIEVAL_MODES

    modes = list(RETRIEVAL_MODES)
    mode = st.selectbox(
        "Search mode",
        modes,
        index=_index_of(modes, base.retrieval.mode),
        format_func=lambda m: _MODE_LABELS.get(m, m),
        key="retrieval_mode",
    )
    k = st.slider("Passages (k)", 1, 20, base.retrieval.k, key="retrieval_k")
    min_score = st.slider(
        "Minimum score", 0.0, 1.0, float(base.retrieval.min_score), 0.05, key="retrieval_min",
        help="Dense relevance (cosine) below which a passage is dropped.",
    )
    return mode, int(k), float(min_score)


# -- store -----------------------------------------------------------------------------------
def _render_store(base: Settings) -> StoreSettings:
    modes = list(get_args(StoreMode))
    mode = st.segmented_control(
        "Vector store",
        modes,
        default=base.store.mode,
        format_func=lambda m: _STORE_LABELS.get(m, m),
        key="store_mode",
    ) or base.store.mode
    update: dict[str, Any] = {"mode": mode}
    if mode == "disk":
        path = st.text_input("Index folder", value=str(base.store.path), key="store_path")
        update["path"] = Path(path.strip() or str(base.store.path))
    elif mode == "server":
        host_col, port_col = st.columns([0.65, 0.35])
        update["host"] = host_col.text_input("Host", value=base.store.host, key="store_host")
        update["port"] = int(
            port_col.number_input("Port", 1, 65535, base.store.port, key="store_port")
        )
    else:
        st.caption(":material/info: In-memory collections vanish when the app restarts.")
    from rag.store.clients import user_store_settings

    return user_store_settings(base.store, update)  # the token goes to the configured server only


def _index_of(options: list[str], value: str | None) -> int:
    return options.index(value) if value in options else 0
