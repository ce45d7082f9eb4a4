-- Series rollups for analytics (services/ledger/analytics/): per grain (minute, hour, day), bucket
-- and the whole dimension tuple, with tag '' for every receipt and 'name:value' once more under each
-- tag of its key (the tag rows are the tag side of the table: a query reads either kind, never both).
-- Counters add at ingest; `latency` is the mergeable latency sketch (services/ledger/analytics/sketch.py),
-- merged with what a batch adds while the row is locked. Money in integer microdollars.

CREATE TABLE IF NOT EXISTS series (
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
    cost_micros   BIGINT NOT NULL,
    requests      BIGINT NOT NULL,
    errors        BIGINT NOT NULL,
    input_tokens  BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    cached_tokens BIGINT NOT NULL,
    cache_hits    BIGINT NOT NULL,
    saved_micros  BIGINT NOT NULL,
    latency       BYTEA NOT NULL,  -- the latency sketch: (bucket index, count) pairs, int32 little-endian
    PRIMARY KEY (grain, tag, bucket_us, provider, model, key_id, user_id, team, org, run_id, agent)
);

-- the raw receipts' retention deletes by time
CREATE INDEX IF NOT EXISTS receipts_by_time ON receipts (ts_us);
