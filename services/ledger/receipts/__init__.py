"""Receipts as the ledger stores them: validated, in integer microdollars, kept exactly as sent."""
