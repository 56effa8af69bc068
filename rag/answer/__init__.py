"""Answering a question: the pipeline (``chain``), what goes in and comes out of it (``reply``),
the checks before and after generation (``checks``: the refusal model in ``refusal`` over the
answer scorer in ``extract``, both fitted with ``logistic``; the grounding check in
``grounding``), follow-up rewriting (``followup``), context selection (``context``), the
question length limit (``questions``), the conversation store (``history``) and the background
warm-up of the first question's models (``warmup``).

May import :mod:`rag.retrieval`, :mod:`rag.llm`, :mod:`rag.store` and the modules below them;
never eval or the CLI.
"""
