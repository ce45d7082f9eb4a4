"""The provider simulator: a fake LLM provider with configurable latency, pacing and faults."""
