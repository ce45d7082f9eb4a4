-- Series rollups for analytics (services/ledger/analytics/): per grain (minute, hour, day), bucket
-- and the whole dimension tuple, with tag '' for every receipt and 'name:value' once more under each
-- tag of its key (the tag rows are the tag side of the table: a query reads either kind, never both).
-- Counters add at ingest; `latency` is the mergeable latency sketch (services/ledger/analytics/sketch.py),
-- merged with what a batch adds while the row is locked. Money in integer microdollars.

CREATE TABLE IF NOT EXISTS series (
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
    cost_micros   INTEGER NOT NULL,
    requests      INTEGER NOT NULL,
    errors        INTEGER NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL,
    cache_hits    INTEGER NOT NULL,
    saved_micros  INTEGER NOT NULL,
    latency       BLOB NOT NULL,  -- the latency sketch: (bucket index, count) pairs, int32 little-endian
    PRIMARY KEY (grain, tag, bucket_us, provider, model, key_id, user_id, team, org, run_id, agent)
) WITHOUT ROWID;

-- the raw receipts' retention deletes by time
CREATE INDEX IF NOT EXISTS receipts_by_time ON receipts (ts_us);
