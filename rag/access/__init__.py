"""Who may use the app and what they may see: the users file (accounts, roles, the rule that
serving beyond this machine needs sign-in) and the owners of collections.

May import only the modules at the top of ``rag`` (settings, errors, sqlite_db); the signing
in itself is the UI's.
"""
