"""Who is calling: virtual keys from the ledger's key snapshot, checked in memory."""
