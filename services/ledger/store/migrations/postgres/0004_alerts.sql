-- Alerts (docs/alerts.md): rules, notification channels, alerts with their history, and the
-- delivery queue with every attempt. One open alert per rule (a partial unique index) and one
-- delivery per (channel, kind, subject) (a unique constraint): two evaluations, or two ledgers,
-- can never fire or notify twice. Time is BIGINT epoch microseconds.

CREATE TABLE IF NOT EXISTS alert_channels (
    channel_id TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,  -- the channel as given (contracts/alert_channel.schema.json), secrets included
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS alert_rules (
    rule_id    TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,  -- the rule as given (contracts/alert_rule.schema.json)
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS alerts (
    alert_id    TEXT PRIMARY KEY,
    rule_id     TEXT NOT NULL,
    state       TEXT NOT NULL,  -- firing | acknowledged | resolved
    severity    TEXT NOT NULL,
    summary     TEXT NOT NULL,  -- the rule's name, metric, operator, threshold and window when it fired
    value       TEXT,           -- the metric's value when it fired (a decimal string)
    fired_us    BIGINT NOT NULL,
    acked_us    BIGINT,
    resolved_us BIGINT
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_one_open_per_rule ON alerts (rule_id) WHERE resolved_us IS NULL;
CREATE INDEX IF NOT EXISTS alerts_by_time ON alerts (fired_us);

CREATE TABLE IF NOT EXISTS alert_history (
    seq      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- the order of equal instants
    alert_id TEXT NOT NULL,
    at_us    BIGINT NOT NULL,
    state    TEXT NOT NULL,
    value    TEXT,
    note     TEXT
);
CREATE INDEX IF NOT EXISTS alert_history_by_alert ON alert_history (alert_id, seq);

CREATE TABLE IF NOT EXISTS alert_deliveries (
    delivery_id TEXT PRIMARY KEY,
    channel_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,  -- alert.firing | alert.resolved | budget.threshold | summary.daily
    subject     TEXT NOT NULL,  -- the alert id, budget event or day it is about
    payload     TEXT NOT NULL,  -- the JSON sent, without the channel's secrets
    status      TEXT NOT NULL,  -- pending | delivered | failed
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_us     BIGINT NOT NULL,
    last_error  TEXT,
    created_us  BIGINT NOT NULL,
    updated_us  BIGINT NOT NULL,
    UNIQUE (channel_id, kind, subject)
);
CREATE INDEX IF NOT EXISTS alert_deliveries_due ON alert_deliveries (status, next_us);

CREATE TABLE IF NOT EXISTS alert_attempts (
    delivery_id TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    at_us       BIGINT NOT NULL,
    ok          INTEGER NOT NULL,
    error       TEXT,
    PRIMARY KEY (delivery_id, attempt)
);

-- alert evaluation reads a window of receipts by time
CREATE INDEX IF NOT EXISTS receipts_by_time ON receipts (ts_us);
