-- The latency sketches move out of `series` into `series_latency` (same key): a query that only
-- sums counters no longer reads every sketch's bytes (docs/analytics.md, scripts/bench/analytics_query.py).

CREATE TABLE IF NOT EXISTS series_latency (
    grain         TEXT NOT NULL,
    tag           TEXT NOT NULL,
    bucket_us     INTEGER NOT NULL,
    provider      TEXT NOT NULL,
    model         TEXT NOT NULL,
    key_id        TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    team          TEXT NOT NULL,
    org           TEXT NOT NULL,
    run_id        TEXT NOT NULL,
    agent         TEXT NOT NULL,
    latency       BLOB NOT NULL,  -- the latency sketch: (bucket index, count) pairs, int32 little-endian
    PRIMARY KEY (grain, tag, bucket_us, provider, model, key_id, user_id, team, org, run_id, agent)
) WITHOUT ROWID;
INSERT INTO series_latency SELECT grain, tag, bucket_us, provider, model, key_id, user_id, team, org, run_id, agent,
    latency FROM series;
ALTER TABLE series DROP COLUMN latency;
