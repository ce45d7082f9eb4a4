"""The simulator's defaults, read from `TOLLWAY_SIM_*` variables (a spec in the URL overrides them)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class SimSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOLLWAY_SIM_", extra="ignore")

    latency_ms: float = 0.0  # time before the answer / the first byte of a stream
    tps: float = 100.0  # stream pacing, tokens per second (0 = unpaced)
    tokens: int = 20  # reply length in tokens when max_tokens does not cut it shorter
    error_rate: float = 0.0  # fraction of requests answered with `status`
    status: int = 500
    seed: int | None = None  # makes the error draws reproducible
    models: str = "sim-model,gpt-4,gpt-4o-mini"  # what GET /v1/models lists (it answers any model)
    access_log: bool = False  # one log line per request; off so benches measure the simulator, not its logs
