"""Search over the document index: the retrieval modes (dense, MMR, BM25, hybrid fused by
reciprocal rank), the optional cross-encoder reranker, and neighbour expansion of hits.

May import :mod:`rag.store` and the modules below it; never :mod:`rag.llm`, answering, eval or
the CLI.
"""
