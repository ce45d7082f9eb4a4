"""The ledger's live events: a bounded in-memory ring (`bus`), what is published on it (`kinds`),
and its Server-Sent Events framing (`sse`). `GET /events` is services/ledger/api/events.py."""
