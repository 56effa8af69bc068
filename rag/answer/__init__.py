"""Answering a question: the pipeline (:mod:`rag.answer.chain`) and its steps – follow-up
rewriting, context selection, the refusal model, the answer scorer that picks a sentence to
quote, the grounding check – plus the conversation store and the background warm-up.

May import :mod:`rag.retrieval`, :mod:`rag.llm`, :mod:`rag.store` and the modules below them;
never eval or the CLI.
"""
