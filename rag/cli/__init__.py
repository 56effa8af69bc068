"""``python -m rag``: the command dispatcher (:mod:`rag.cli.main`, with the index commands)
and the commands for asking, regenerating the README examples and managing users. The
evaluation commands live in :mod:`rag.eval` and register through the same dispatcher.

The top layer: may import every other package of ``rag``; nothing in ``rag`` imports it
(the dispatcher loads command modules by name).
"""
