"""Rolling windows: minute/hour/day buckets of cost, requests and tokens, per provider."""
