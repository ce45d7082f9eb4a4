"""Where the ledger keeps its books: a `LedgerStore` protocol and one module per backend."""
