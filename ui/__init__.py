"""Streamlit layer: widgets and layout only; all work is done by ``rag/``."""
