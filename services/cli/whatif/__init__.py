"""`tollway simulate`: replay a workload through each routing strategy against the registered
providers' prices and latency profiles, and compare cost, latency and errors with baselines."""
