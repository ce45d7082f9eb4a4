-- Budgets get terms (a period with the time zone of its calendar, and threshold percentages), more
-- scopes (user, provider, model, global), threshold events once per period, and spend in
-- 15-minute UTC buckets per scope (what a period's spend and the runway's burn rate are read from).
-- Receipts already in the book are counted into the new scopes' spend and into the buckets.

ALTER TABLE budgets ADD COLUMN period TEXT NOT NULL DEFAULT 'once';
ALTER TABLE budgets ADD COLUMN tz TEXT;
ALTER TABLE budgets ADD COLUMN thresholds TEXT NOT NULL DEFAULT '[75,90,100]';

CREATE TABLE budget_events_by_period (
    scope           TEXT NOT NULL,
    scope_id        TEXT NOT NULL,
    period_start_us INTEGER NOT NULL,  -- 0 for a one-off budget
    threshold       INTEGER NOT NULL,
    at_us           INTEGER NOT NULL,
    spent_micros    INTEGER NOT NULL,
    budget_micros   INTEGER NOT NULL,
    PRIMARY KEY (scope, scope_id, period_start_us, threshold)
) WITHOUT ROWID;
INSERT INTO budget_events_by_period (scope, scope_id, period_start_us, threshold, at_us, spent_micros, budget_micros)
SELECT scope, scope_id, 0, threshold, at_us, spent_micros, budget_micros FROM budget_events;
DROP TABLE budget_events;
ALTER TABLE budget_events_by_period RENAME TO budget_events;

CREATE TABLE spend_buckets (
    scope        TEXT NOT NULL,
    scope_id     TEXT NOT NULL,
    bucket_us    INTEGER NOT NULL,  -- start of the 15-minute UTC bucket
    spent_micros INTEGER NOT NULL,
    receipts     INTEGER NOT NULL,
    PRIMARY KEY (scope, scope_id, bucket_us)
) WITHOUT ROWID;

CREATE TEMP TABLE receipt_scopes AS
SELECT 'run' AS scope, run_id AS scope_id, ts_us, cost_micros FROM receipts
UNION ALL SELECT 'provider', provider, ts_us, cost_micros FROM receipts
UNION ALL SELECT 'global', 'all', ts_us, cost_micros FROM receipts
UNION ALL SELECT 'key', json_extract(body, '$.key_id'), ts_us, cost_micros FROM receipts WHERE json_valid(body)
UNION ALL SELECT 'user', json_extract(body, '$.user'), ts_us, cost_micros FROM receipts WHERE json_valid(body)
UNION ALL SELECT 'team', json_extract(body, '$.team'), ts_us, cost_micros FROM receipts WHERE json_valid(body)
UNION ALL SELECT 'org', json_extract(body, '$.org'), ts_us, cost_micros FROM receipts WHERE json_valid(body)
UNION ALL SELECT 'model', json_extract(body, '$.model'), ts_us, cost_micros FROM receipts WHERE json_valid(body);

INSERT OR IGNORE INTO spend (scope, scope_id, spent_micros, receipts)
SELECT scope, scope_id, SUM(cost_micros), COUNT(*) FROM receipt_scopes
WHERE scope IN ('user', 'provider', 'model', 'global') AND typeof(scope_id) = 'text' AND scope_id != ''
GROUP BY scope, scope_id;

INSERT INTO spend_buckets (scope, scope_id, bucket_us, spent_micros, receipts)
SELECT scope, scope_id, ts_us - ts_us % 900000000, SUM(cost_micros), COUNT(*) FROM receipt_scopes
WHERE typeof(scope_id) = 'text' AND scope_id != ''
GROUP BY scope, scope_id, ts_us - ts_us % 900000000;

DROP TABLE receipt_scopes;
