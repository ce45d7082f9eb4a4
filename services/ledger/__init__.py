"""The ledger: the book of record. Receipts ingest, budgets with hard-cap holds, rolling windows."""
