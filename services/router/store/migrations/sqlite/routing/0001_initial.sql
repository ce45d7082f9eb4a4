-- The routing configuration file (<artifacts>/router/routing.db) as release 0.1 wrote it: one row
-- per entry, and a version bumped in the same transaction as every change that changes something.
-- IF NOT EXISTS throughout: a release-0.1 file runs this unchanged and is adopted in place.
CREATE TABLE IF NOT EXISTS routing_entries (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, name)
);
CREATE TABLE IF NOT EXISTS routing_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT OR IGNORE INTO routing_version (id, version) VALUES (1, 0);
