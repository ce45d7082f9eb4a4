"""Outcome reports: what happened upstream, sent to the router so latency routing learns."""
