-- The registry file (<artifacts>/router/registry.db) as release 0.1 wrote it: each provider as its
-- JSON plus indexed columns, and the registry version bumped in the same transaction as a change.
-- IF NOT EXISTS throughout: a release-0.1 file runs this unchanged and is adopted in place.
CREATE TABLE IF NOT EXISTS providers (
    name TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    active INTEGER NOT NULL,
    context_window INTEGER NOT NULL,
    registered_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS providers_active_model ON providers (active, model);
CREATE TABLE IF NOT EXISTS registry_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT OR IGNORE INTO registry_version (id, version) VALUES (1, 0);
