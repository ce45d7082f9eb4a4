"""The SQLite backend of the ledger store (one file, WAL, one guarded connection)."""
