"""The document index and what feeds it: Chroma clients by store mode, the embedding models,
the index (reader, ingest writer, result types), the BM25 keyword index kept beside it, the
token-checking proxy in front of a Chroma server, background ingest jobs, re-ingest rules and
uploaded files.

May import :mod:`rag.access` and the modules at the top of ``rag`` (settings, errors, text,
endpoints, sqlite_db), and ``ingest``; never retrieval, answering, LLMs, eval or the CLI.
Heavy dependencies (torch, onnxruntime, chromadb) are imported inside the functions that use
them where startup time matters: the bench venv imports the ONNX export alone.
"""
