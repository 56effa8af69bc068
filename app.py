"""Doc Chat: chat with your documents. `make run` opens this page.

Layout and session state only: the sidebar collects the user's choices, the pages render
them, and everything else is done by ``rag/``. Heavy things (embedding model, LLM, store) are
built on first use and cached per process, so the page paints before any model loads.
"""

from __future__ import annotations

import streamlit as st

from rag.answer.warmup import warm_up
from ui.auth import require_sign_in
from ui.errors import error_boundary
from ui.sidebar import CHAT_PAGE, base_settings, render_sidebar

st.set_page_config(
    page_title="Doc Chat",
    # An emoji, not ":material/forum:": Streamlit draws an emoji favicon in the page itself,
    # while a Material page icon is fetched from fonts.gstatic.com (failing offline, and a
    # request to an outside host from every viewer). Material icons elsewhere on the page come
    # from the font Streamlit serves itself.
    page_icon="💬",
    layout="wide",
    initial_sidebar_state="expanded",
)

# Small touches Streamlit has no option for: a tighter top margin and compact source expanders.
st.markdown(
    """<style>
    .block-container {padding-top: 2.2rem; max-width: 1100px;}
    [data-testid="stExpander"] details summary p {font-size: 0.9rem;}
    [data-testid="stChatMessage"] [data-testid="stExpander"] {margin-bottom: -0.6rem;}
    [data-testid="stSidebar"] button[kind="tertiary"] p {font-size: 0.9rem; text-align: left;}
    </style>""",
    unsafe_allow_html=True,
)

st.title(":material/forum: Doc Chat", anchor=False)
st.caption("Ask questions about your own documents. Every answer cites its sources and is "
           "checked against them.")

# Before the pages exist: a visitor who has not signed in gets the form and nothing else, and
# an address beyond loopback without sign-in configured gets only the refusal.
allowed = False
with error_boundary():
    require_sign_in(base_settings())
    allowed = True
if not allowed:
    st.stop()

pages = [
    st.Page(CHAT_PAGE, title="Chat", icon=":material/forum:", default=True),
    st.Page("ui/pages/documents_page.py", title="Documents", icon=":material/description:"),
    st.Page("ui/pages/evaluate_page.py", title="Evaluate", icon=":material/science:"),
]
navigation = st.navigation(pages, position="top")

with error_boundary():
    choices = render_sidebar()
    navigation.run()
    # After the page is drawn: load the models and index the first question needs.
    warm_up(choices.settings, choices.collection)
