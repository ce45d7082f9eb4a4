"""The gateway: the client-facing API, provider selection over a local registry snapshot,
forwarding with fallback, budget holds, and a receipt for every request."""
