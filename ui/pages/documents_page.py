"""Documents page script (run by st.navigation)."""

from ui.documents import render_documents_page

render_documents_page()
