"""The ledger's store on PostgreSQL (asyncpg): the same LedgerStore as the SQLite one."""
