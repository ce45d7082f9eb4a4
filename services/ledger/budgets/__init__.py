"""Budgets: levels and threshold events, hold arithmetic, the status a caller sees."""
