-- The ledger's tables on PostgreSQL: money is BIGINT microdollars, time BIGINT epoch microseconds
-- (the same units as on SQLite, so every figure reads back alike).

CREATE TABLE IF NOT EXISTS receipts (
    request_id    TEXT COLLATE "C" PRIMARY KEY,
    run_id        TEXT COLLATE "C" NOT NULL,
    ts_us         BIGINT NOT NULL,
    provider      TEXT COLLATE "C" NOT NULL,
    input_tokens  BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    cost_micros   BIGINT NOT NULL,
    body          TEXT COLLATE "C" NOT NULL,
    ingested_us   BIGINT NOT NULL,
    tenant        TEXT COLLATE "C",  -- 'org:<org>' or 'key:<key_id>' of the virtual key that sent it
    saved_micros  BIGINT NOT NULL DEFAULT 0,
    cache_hit     INTEGER NOT NULL DEFAULT 0,
    seq           BIGINT GENERATED ALWAYS AS IDENTITY  -- arrival order among equal timestamps
);
CREATE INDEX IF NOT EXISTS receipts_by_run ON receipts (run_id, ts_us, seq);
CREATE INDEX IF NOT EXISTS receipts_by_tenant ON receipts (tenant, ts_us);

CREATE TABLE IF NOT EXISTS spend (
    scope        TEXT COLLATE "C" NOT NULL,
    scope_id     TEXT COLLATE "C" NOT NULL,
    spent_micros BIGINT NOT NULL,
    receipts     BIGINT NOT NULL,
    PRIMARY KEY (scope, scope_id)
);

-- a budget's row is what every grant on it locks (SELECT ... FOR UPDATE): two ledgers granting
-- leases or holds on one budget take turns
CREATE TABLE IF NOT EXISTS budgets (
    scope         TEXT COLLATE "C" NOT NULL,
    scope_id      TEXT COLLATE "C" NOT NULL,
    budget_micros BIGINT NOT NULL,
    created_us    BIGINT NOT NULL,
    updated_us    BIGINT NOT NULL,
    PRIMARY KEY (scope, scope_id)
);

CREATE TABLE IF NOT EXISTS budget_events (
    scope         TEXT COLLATE "C" NOT NULL,
    scope_id      TEXT COLLATE "C" NOT NULL,
    threshold     INTEGER NOT NULL,
    at_us         BIGINT NOT NULL,
    spent_micros  BIGINT NOT NULL,
    budget_micros BIGINT NOT NULL,
    PRIMARY KEY (scope, scope_id, threshold)
);

CREATE TABLE IF NOT EXISTS run_owners (
    run_id     TEXT COLLATE "C" PRIMARY KEY,
    tenant     TEXT COLLATE "C" NOT NULL,   -- 'org:<org>' or 'key:<key_id>': the first tenant to lease from the run's budget
    claimed_us BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS holds (
    hold_id       TEXT COLLATE "C" PRIMARY KEY,
    scope         TEXT COLLATE "C" NOT NULL,
    scope_id      TEXT COLLATE "C" NOT NULL,
    amount_micros BIGINT NOT NULL,
    created_us    BIGINT NOT NULL,
    expires_us    BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS holds_by_scope ON holds (scope, scope_id, expires_us);
CREATE INDEX IF NOT EXISTS holds_by_expiry ON holds (expires_us);

CREATE TABLE IF NOT EXISTS rollups (
    grain         TEXT COLLATE "C" NOT NULL,
    bucket_us     BIGINT NOT NULL,
    provider      TEXT COLLATE "C" NOT NULL,
    cost_micros   BIGINT NOT NULL,
    requests      BIGINT NOT NULL,
    input_tokens  BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    saved_micros  BIGINT NOT NULL DEFAULT 0,
    cache_hits    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, bucket_us, provider)
);

CREATE TABLE IF NOT EXISTS api_keys (
    key_id       TEXT COLLATE "C" PRIMARY KEY,
    secret_hash  TEXT COLLATE "C" NOT NULL UNIQUE,
    prefix       TEXT COLLATE "C" NOT NULL,
    created_us   BIGINT NOT NULL,
    name         TEXT COLLATE "C",
    user_name    TEXT COLLATE "C",
    team         TEXT COLLATE "C",
    org          TEXT COLLATE "C",
    models       TEXT COLLATE "C",
    limits       TEXT COLLATE "C" NOT NULL,
    metadata     TEXT COLLATE "C" NOT NULL,
    expires_us   BIGINT,
    revoked_us   BIGINT,
    cache_policy TEXT COLLATE "C"
);

CREATE TABLE IF NOT EXISTS rate_limits (
    name        TEXT COLLATE "C" NOT NULL,
    dimension   TEXT COLLATE "C" NOT NULL,
    match_value TEXT COLLATE "C" NOT NULL,  -- '' for a general limit
    spec        TEXT COLLATE "C" NOT NULL,  -- the limit as given (contracts/limit_spec.schema.json)
    updated_us  BIGINT NOT NULL,
    expires_us  BIGINT,
    PRIMARY KEY (name, dimension, match_value)
);

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('budget_version', 0), ('keys_version', 0) ON CONFLICT (key) DO NOTHING;
