"""Spend analytics: rollups by every dimension at 1-minute, 1-hour and 1-day grains, and the series,
breakdowns and exports read from them (docs/analytics.md)."""
