"""Evaluate page script (run by st.navigation)."""

from ui.evaluate import render_evaluate_page

render_evaluate_page()
