"""Re-ingest on the Documents page refuses a source outside the upload and corpus folders
(a registry record planted in the store), and re-reads one inside them."""

from __future__ import annotations

import html

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import APP

pytestmark = pytest.mark.slow


def _documents_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page("ui/pages/documents_page.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _reingest(at: AppTest, source_name: str) -> AppTest:
    selection = at.multiselect(key="library_selection")
    (option,) = [o for o in selection.options if o.startswith(source_name)]
    selection.select(option).run()
    (button,) = [b for b in at.button if b.label == "Re-ingest"]
    return button.click().run()


def test_a_planted_source_is_refused_and_an_upload_is_re_read(app_env, monkeypatch):
    from rag.settings import Settings
    from rag.store.index import DocumentIndex
    from rag.store.sources import document_id

    uploads = app_env / "uploads"
    uploads.mkdir(exist_ok=True)
    (uploads / "kettle.md").write_text("# Kettle\n\nThe kettle boils 1.7 litres.\n")
    secret = app_env / "server-secrets.txt"
    secret.write_text("OPENAI_API_KEY=sk-planted-never-read\n")
    index = DocumentIndex(Settings())
    assert index.ingest_paths([uploads / "kettle.md"]).ingested == 1
    # What anyone with write access to a shared Chroma server can do: a record of its own.
    index.registry.upsert(ids=[document_id(str(secret))], embeddings=[[0.0]],
                          documents=[str(secret)],
                          metadatas=[{"source": str(secret), "title": "notes", "chunks": 1}])

    at = _reingest(_documents_page(), "server-secrets.txt")
    errors = [html.unescape(e.value) for e in at.error]  # the app escapes what it shows
    assert any("not re-read: it is outside the upload folder and the corpus folders" in e
               for e in errors), errors
    assert not any("sk-planted" in c.metadata.get("source", "") + c.page_content
                   for c in index.iter_chunks())

    at = _reingest(_documents_page(), "kettle.md")
    assert not at.error and not at.exception, [e.value for e in [*at.error, *at.exception]]
