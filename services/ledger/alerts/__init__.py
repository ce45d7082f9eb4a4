"""Alerts: rules evaluated over the receipts, the firing → acknowledged → resolved lifecycle, and
notifications delivered to webhook, Slack and email channels off the request path (docs/alerts.md)."""
