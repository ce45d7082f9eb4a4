-- Budgets get terms (a period with the time zone of its calendar, and threshold percentages), more
-- scopes (user, provider, model, global), threshold events once per period, and spend in
-- 15-minute UTC buckets per scope (what a period's spend and the runway's burn rate are read from).
-- Receipts already in the book are counted into the new scopes' spend and into the buckets.

ALTER TABLE budgets ADD COLUMN period TEXT COLLATE "C" NOT NULL DEFAULT 'once';
ALTER TABLE budgets ADD COLUMN tz TEXT COLLATE "C";
ALTER TABLE budgets ADD COLUMN thresholds TEXT COLLATE "C" NOT NULL DEFAULT '[75,90,100]';

ALTER TABLE budget_events ADD COLUMN period_start_us BIGINT NOT NULL DEFAULT 0;
ALTER TABLE budget_events DROP CONSTRAINT budget_events_pkey;
ALTER TABLE budget_events ADD PRIMARY KEY (scope, scope_id, period_start_us, threshold);

CREATE TABLE spend_buckets (
    scope        TEXT COLLATE "C" NOT NULL,
    scope_id     TEXT COLLATE "C" NOT NULL,
    bucket_us    BIGINT NOT NULL,  -- start of the 15-minute UTC bucket
    spent_micros BIGINT NOT NULL,
    receipts     BIGINT NOT NULL,
    PRIMARY KEY (scope, scope_id, bucket_us)
);

CREATE TEMP TABLE receipt_scopes ON COMMIT DROP AS
SELECT s.scope, s.scope_id, r.ts_us, r.cost_micros
FROM (SELECT ts_us, cost_micros, run_id, provider, body::jsonb AS j FROM receipts) AS r,
LATERAL (VALUES ('run', r.run_id), ('provider', r.provider), ('global', 'all'), ('key', (r.j ->> 'key_id') COLLATE "C"),
                ('user', (r.j ->> 'user') COLLATE "C"), ('team', (r.j ->> 'team') COLLATE "C"), ('org', (r.j ->> 'org') COLLATE "C"),
                ('model', (r.j ->> 'model') COLLATE "C")) AS s(scope, scope_id)
WHERE s.scope_id IS NOT NULL AND s.scope_id != '';

INSERT INTO spend (scope, scope_id, spent_micros, receipts)
SELECT scope, scope_id, SUM(cost_micros), COUNT(*) FROM receipt_scopes
WHERE scope IN ('user', 'provider', 'model', 'global')
GROUP BY scope, scope_id
ON CONFLICT (scope, scope_id) DO NOTHING;

INSERT INTO spend_buckets (scope, scope_id, bucket_us, spent_micros, receipts)
SELECT scope, scope_id, ts_us - ts_us % 900000000, SUM(cost_micros), COUNT(*) FROM receipt_scopes
GROUP BY scope, scope_id, ts_us - ts_us % 900000000;
