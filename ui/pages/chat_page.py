"""Chat page script (run by st.navigation)."""

from ui.chat import render_chat_page

render_chat_page()
