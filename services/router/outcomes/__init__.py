"""Outcome reports from gateways: the sliding window of latencies and successes per provider,
its persistence, and the stats published in the registry snapshot."""
