-- The latency sketches move out of `series` into `series_latency` (same key): a query that only
-- sums counters no longer reads every sketch's bytes (docs/analytics.md, scripts/bench/analytics_query.py).

CREATE TABLE IF NOT EXISTS series_latency (
    grain         TEXT COLLATE "C" NOT NULL,
    tag           TEXT COLLATE "C" NOT NULL,
    bucket_us     BIGINT NOT NULL,
    provider      TEXT COLLATE "C" NOT NULL,
    model         TEXT COLLATE "C" NOT NULL,
    key_id        TEXT COLLATE "C" NOT NULL,
    user_id       TEXT COLLATE "C" NOT NULL,
    team          TEXT COLLATE "C" NOT NULL,
    org           TEXT COLLATE "C" NOT NULL,
    run_id        TEXT COLLATE "C" NOT NULL,
    agent         TEXT COLLATE "C" NOT NULL,
    latency       BYTEA NOT NULL,  -- the latency sketch: (bucket index, count) pairs, int32 little-endian
    PRIMARY KEY (grain, tag, bucket_us, provider, model, key_id, user_id, team, org, run_id, agent)
);
INSERT INTO series_latency SELECT grain, tag, bucket_us, provider, model, key_id, user_id, team, org, run_id, agent,
    latency FROM series ON CONFLICT DO NOTHING;
ALTER TABLE series DROP COLUMN IF EXISTS latency;
