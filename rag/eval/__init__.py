"""Evaluation harness: retrieval metrics per mode, answer quality per prompt path, calibration.

``python -m rag eval`` is the entry point (see :mod:`rag.eval.cli`). Modules import their heavy
dependencies (models, the index, matplotlib) only when a function needs them.

May import :mod:`rag.answer` and everything below it; never :mod:`rag.cli` (its commands are
registered with the dispatcher by module name).
"""
