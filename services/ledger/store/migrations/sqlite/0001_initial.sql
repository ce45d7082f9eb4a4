-- The ledger's tables as release 0.1 left them (the cache columns and run owners included), so that
-- a ledger file from that release, which has no schema_version yet, is taken as it is: every
-- statement here is IF NOT EXISTS / OR IGNORE. Money is INTEGER microdollars, time INTEGER epoch
-- microseconds.

CREATE TABLE IF NOT EXISTS receipts (
    request_id    TEXT PRIMARY KEY,
    run_id        TEXT NOT NULL,
    ts_us         INTEGER NOT NULL,
    provider      TEXT NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_micros   INTEGER NOT NULL,
    body          TEXT NOT NULL,
    ingested_us   INTEGER NOT NULL,
    tenant        TEXT,  -- 'org:<org>' or 'key:<key_id>' of the virtual key that sent it
    saved_micros  INTEGER NOT NULL DEFAULT 0,
    cache_hit     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS receipts_by_run ON receipts (run_id, ts_us);
CREATE INDEX IF NOT EXISTS receipts_by_tenant ON receipts (tenant, ts_us);

CREATE TABLE IF NOT EXISTS spend (
    scope        TEXT NOT NULL,
    scope_id     TEXT NOT NULL,
    spent_micros INTEGER NOT NULL,
    receipts     INTEGER NOT NULL,
    PRIMARY KEY (scope, scope_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS budgets (
    scope         TEXT NOT NULL,
    scope_id      TEXT NOT NULL,
    budget_micros INTEGER NOT NULL,
    created_us    INTEGER NOT NULL,
    updated_us    INTEGER NOT NULL,
    PRIMARY KEY (scope, scope_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS budget_events (
    scope         TEXT NOT NULL,
    scope_id      TEXT NOT NULL,
    threshold     INTEGER NOT NULL,
    at_us         INTEGER NOT NULL,
    spent_micros  INTEGER NOT NULL,
    budget_micros INTEGER NOT NULL,
    PRIMARY KEY (scope, scope_id, threshold)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS run_owners (
    run_id     TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,   -- 'org:<org>' or 'key:<key_id>': the first tenant to lease from the run's budget
    claimed_us INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS holds (
    hold_id       TEXT PRIMARY KEY,
    scope         TEXT NOT NULL,
    scope_id      TEXT NOT NULL,
    amount_micros INTEGER NOT NULL,
    created_us    INTEGER NOT NULL,
    expires_us    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS holds_by_scope ON holds (scope, scope_id, expires_us);
CREATE INDEX IF NOT EXISTS holds_by_expiry ON holds (expires_us);

CREATE TABLE IF NOT EXISTS rollups (
    grain         TEXT NOT NULL,
    bucket_us     INTEGER NOT NULL,
    provider      TEXT NOT NULL,
    cost_micros   INTEGER NOT NULL,
    requests      INTEGER NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    saved_micros  INTEGER NOT NULL DEFAULT 0,
    cache_hits    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, bucket_us, provider)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS api_keys (
    key_id       TEXT PRIMARY KEY,
    secret_hash  TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_us   INTEGER NOT NULL,
    name         TEXT,
    user_name    TEXT,
    team         TEXT,
    org          TEXT,
    models       TEXT,
    limits       TEXT NOT NULL,
    metadata     TEXT NOT NULL,
    expires_us   INTEGER,
    revoked_us   INTEGER,
    cache_policy TEXT
);

CREATE TABLE IF NOT EXISTS rate_limits (
    name        TEXT NOT NULL,
    dimension   TEXT NOT NULL,
    match_value TEXT NOT NULL,  -- '' for a general limit
    spec        TEXT NOT NULL,  -- the limit as given (contracts/limit_spec.schema.json)
    updated_us  INTEGER NOT NULL,
    expires_us  INTEGER,
    PRIMARY KEY (name, dimension, match_value)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('budget_version', 0);
INSERT OR IGNORE INTO meta (key, value) VALUES ('keys_version', 0);
