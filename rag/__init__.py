"""The library under the app: storing, searching and answering over the user's documents.

Grouped by layer; a package imports only from the packages below it (``lint-imports`` checks
this, see ``[tool.importlinter]`` in pyproject.toml):

* :mod:`rag.cli` – ``python -m rag``: the dispatcher and its commands;
* :mod:`rag.eval` – the evaluation harness and the fitting of the answer models;
* :mod:`rag.answer` – the question-answering pipeline and the conversations it feeds;
* :mod:`rag.retrieval` – search modes over the index (dense, MMR, BM25, hybrid), reranking,
  neighbour expansion;
* :mod:`rag.llm` – chat-model backends and the prompt and decoding presets sent to them
  (beside retrieval: neither imports the other);
* :mod:`rag.store` – the document index (Chroma plus its keyword index), embeddings, ingest
  jobs and uploads;
* :mod:`rag.access` – users and who may see which collection;
* the modules at this level – settings, errors, text helpers, SQLite and endpoint checks –
  which everything above may use and which import nothing of the packages.

Nothing here imports Streamlit or the UI; ``ingest`` (the parsers) sits below all of it.
"""
