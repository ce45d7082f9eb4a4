"""Prometheus metrics for every service (prometheus-client): one registry per app (`service`),
request counts and latency by route template and status (`http`), and the text exposition at
`GET /metrics` (`exposition`). docs/observability.md lists every metric."""
