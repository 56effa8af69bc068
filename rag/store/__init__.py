"""The document index and what feeds it: Chroma clients by store mode (``clients``), the
embedding models (``embeddings``, with the int8 ONNX backend in ``onnx_export`` and
``onnx_encoder``), the index itself (``index`` ingests and deletes on top of ``reader``; its
files and ids in ``sources``, an ingest run's parts in ``ingest_run``, what it reports in
``results``), the BM25 keyword index kept beside it (``bm25``), the token-checking proxy in
front of a Chroma server (``chroma_proxy``), background ingest jobs (``ingest_jobs``), which
files a re-ingest may read (``reingest``) and uploaded files (``uploads``).

May import :mod:`rag.access`, the modules at the top of ``rag`` (settings, errors, text,
endpoints, sqlite_db) and ``ingest``; never retrieval, answering, LLMs, eval or the CLI.
Heavy dependencies (torch, onnxruntime, chromadb) are imported inside the functions that use
them where startup time matters: the bench venv imports the ONNX export alone.
"""
