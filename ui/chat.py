"""The chat page: conversation header, messages with their sources, streaming with a stop button."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import streamlit as st

from rag.answer.history import ChatHistory, ChatMessage
from rag.answer.questions import check_question_length
from rag.answer.reply import PATH_LABELS, Answer, AskRequest, Source
from ui.auth import current_owner
from ui.errors import error_boundary, show_error
from ui.resources import get_history, get_service
from ui.sidebar import SidebarChoices, current_choices
from ui.sources import render_sources
from ui.untrusted import inert_markdown

USER_AVATAR = ":material/person:"
ASSISTANT_AVATAR = ":material/auto_awesome:"
STOPPED = "stopped"  # history path of an answer the user stopped (never verified)
_CITATION = re.compile(r"\[(\d{1,3})\]")
_BADGES = {
    "generated": (":material/verified:", "green"),
    "quoted": (":material/format_quote:", "orange"),
    "declined": (":material/block:", "gray"),
    STOPPED: (":material/stop_circle:", "red"),
}
_SUGGESTIONS = (
    "What are these documents about?",
    "Summarise the key facts with citations.",
)


@dataclass
class PendingAnswer:
    """What has been streamed so far; survives the rerun that a Stop click triggers."""

    conversation_id: str
    pieces: list[str] = field(default_factory=list)


def render_chat_page() -> None:
    choices = current_choices()
    history = get_history(choices.settings, current_owner())
    with error_boundary():
        conversation_id = _current_conversation(history)
        _save_stopped_answer(history)
        _render_header(history, conversation_id)
        messages = history.messages(conversation_id)
        if not messages:
            _render_empty_state()
        for message in messages:
            _render_message(message)
    # The box stops typing at the limit; the check below is for what reaches the server anyway.
    question = st.chat_input("Ask a question about your documents…", key="chat_input",
                             max_chars=choices.settings.answer.max_question_chars)
    if question is None and st.session_state.get("suggested_question"):
        question = st.session_state.pop("suggested_question")
    if question and question.strip():
        with error_boundary():
            check_question_length(question.strip(), choices.settings)
            _answer(history, _current_conversation(history), question.strip(), choices)


# -- conversation ----------------------------------------------------------------------------
def _current_conversation(history: ChatHistory) -> str:
    conversation_id = st.session_state.get("conversation_id")
    known = {c.id for c in history.list_conversations()}
    if conversation_id not in known:
        # Reopen the most recent chat after a refresh; start one on a fresh install.
        recent = history.list_conversations()
        conversation_id = recent[0].id if recent else history.create().id
        st.session_state["conversation_id"] = conversation_id
    return conversation_id


def _render_header(history: ChatHistory, conversation_id: str) -> None:
    conversation = history.get(conversation_id)
    title_col, actions_col = st.columns([0.86, 0.14], vertical_alignment="center")
    title_col.subheader(inert_markdown(conversation.title), anchor=False)
    with actions_col.popover("Manage", icon=":material/more_horiz:", width="stretch"):
        new_title = st.text_input(
            "Rename", value=conversation.title, key=f"rename-{conversation_id}"
        )
        if st.button("Save name", icon=":material/edit:", key="rename_chat"):
            history.rename(conversation_id, new_title)
            st.rerun()
        st.download_button(
            "Export as Markdown",
            data=history.export_markdown(conversation_id),
            file_name=f"{_file_stem(conversation.title)}.md",
            mime="text/markdown",
            icon=":material/download:",
            key="export_chat",
        )
        if st.button("Clear messages", icon=":material/mop:", key="clear_chat"):
            history.clear(conversation_id)
            st.rerun()
        if st.button("Delete chat", icon=":material/delete:", key="delete_chat"):
            history.delete(conversation_id)
            st.session_state.pop("conversation_id", None)
            st.rerun()


def _file_stem(title: str) -> str:
    stem = re.sub(r"[^\w\- ]+", "", title).strip().replace(" ", "-")
    return stem[:60] or "chat"


def _render_empty_state() -> None:
    with st.container(border=True):
        st.markdown("**Ask anything about your documents.**")
        st.caption(
            "Answers are built only from the indexed documents, cite their sources as [n], and "
            "are checked against them. Add files on the Documents page."
        )
        cols = st.columns(len(_SUGGESTIONS))
        for col, text in zip(cols, _SUGGESTIONS, strict=True):
            if col.button(text, icon=":material/lightbulb:", width="stretch"):
                st.session_state["suggested_question"] = text
                st.rerun()


# -- messages --------------------------------------------------------------------------------
def _render_message(message: ChatMessage) -> None:
    if message.role == "user":
        with st.chat_message("user", avatar=USER_AVATAR):
            st.markdown(inert_markdown(message.text))
        return
    with st.chat_message("assistant", avatar=ASSISTANT_AVATAR):
        st.markdown(inert_markdown(message.text))
        _render_reply_meta(message.path, message.standalone, message.sources, message.text)


def _render_reply_meta(
    path: str, standalone: str, sources: Sequence[Source], text: str
) -> None:
    if path in _BADGES:
        icon, color = _BADGES[path]
        label = PATH_LABELS.get(path, "stopped before the end, not verified")
        st.badge(label[0].upper() + label[1:], icon=icon, color=color)
    if standalone:
        st.caption(f":material/manage_search: Searched as: {inert_markdown(standalone)}")
    cited = tuple(int(n) for n in _CITATION.findall(text))
    render_sources(sources, cited)


# -- answering -------------------------------------------------------------------------------
def _request(question: str, history: ChatHistory, conversation_id: str,
             choices: SidebarChoices) -> AskRequest:
    return AskRequest(
        question=question,
        history=history.qa_pairs(conversation_id),
        prompt_preset=choices.prompt_preset,
        decoding_preset=choices.decoding_preset,
        decoding_overrides=choices.decoding_overrides,
        retrieval_mode=choices.retrieval_mode,
        k=choices.k,
        min_score=choices.min_score,
    )


def _answer(history: ChatHistory, conversation_id: str, question: str,
            choices: SidebarChoices) -> None:
    request = _request(question, history, conversation_id, choices)
    history.add_message(conversation_id, "user", question)
    with st.chat_message("user", avatar=USER_AVATAR):
        st.markdown(inert_markdown(question))
    with st.chat_message("assistant", avatar=ASSISTANT_AVATAR):
        stop_slot = st.empty()
        cancel = threading.Event()
        # Clicking Stop sets the event (the generator checks it between tokens) and reruns the
        # script; the rerun finds the pending answer and stores what was streamed so far.
        stop_slot.button("Stop", icon=":material/stop_circle:", on_click=cancel.set,
                         key="stop_generation", type="secondary")
        pending = PendingAnswer(conversation_id)
        st.session_state["pending_answer"] = pending
        body = st.empty()
        try:
            service = get_service(choices.settings, choices.collection)
            stream = service.stream(request, cancel=cancel)
            with st.spinner("Searching the documents…", show_time=True):
                pieces = iter(stream)
                first = next(pieces, None)
            # "" is a piece, not the end: OpenAI-protocol servers open with an empty one, and
            # stopping there left the reply blank (the answer is only set once drained).
            streamed = (body.write_stream(_tracked(first, pieces, pending))
                        if first is not None else "")
        except Exception as exc:
            st.session_state.pop("pending_answer", None)
            stop_slot.empty()
            show_error(exc)
            return
        st.session_state.pop("pending_answer", None)
        stop_slot.empty()
        answer: Answer | None = stream.answer
        if answer is None:
            return
        if answer.text != streamed:
            body.markdown(inert_markdown(answer.text))  # the grounding check replaced the reply
        standalone = answer.standalone_question
        standalone = standalone if standalone.strip() != question.strip() else ""
        _render_reply_meta(answer.path, standalone, answer.sources, answer.text)
        history.add_message(conversation_id, "assistant", answer.text, sources=answer.sources,
                            path=answer.path, standalone=standalone)
    # Redraw from the store: the sidebar's chat list and the header pick up the new title.
    st.rerun()


def _tracked(first: str, rest: Iterator[str], pending: PendingAnswer) -> Iterable[str]:
    for piece in _chain_first(first, rest):
        pending.pieces.append(piece)
        yield inert_markdown(piece)


def _chain_first(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _save_stopped_answer(history: ChatHistory) -> None:
    pending: PendingAnswer | None = st.session_state.pop("pending_answer", None)
    if pending is None:
        return
    text = "".join(pending.pieces).strip() or "(stopped before the first word)"
    history.add_message(pending.conversation_id, "assistant", text, path=STOPPED)
