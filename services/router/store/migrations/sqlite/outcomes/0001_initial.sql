-- The outcome log (<artifacts>/router/outcomes.db) as release 0.1 wrote it: one row per batch a
-- gateway posted (its outcomes as JSON columns, and the time of its newest), and the stats epoch.
-- IF NOT EXISTS throughout: a release-0.1 file runs this unchanged and is adopted in place.
CREATE TABLE IF NOT EXISTS outcome_batches (
    id INTEGER PRIMARY KEY,
    newest_at REAL NOT NULL,
    outcomes BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS outcome_batches_newest_at ON outcome_batches (newest_at);
CREATE TABLE IF NOT EXISTS stats_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    epoch INTEGER NOT NULL
);
INSERT OR IGNORE INTO stats_epoch (id, epoch) VALUES (1, 0);
-- A log older than release 0.1 kept one row per outcome in `outcomes`. Its outcomes are older than
-- any window by now (the router's window is an hour by default): dropped, not converted.
DROP TABLE IF EXISTS outcomes;
