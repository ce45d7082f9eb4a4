-- The router's tables on PostgreSQL: the registry, the routing configuration and the outcome log,
-- each with the counter the snapshot's version is made of. Text that is listed in order is COLLATE
-- "C" (byte order, as on SQLite). JSON bodies are kept as the text the router wrote (jsonb would
-- reorder keys and normalise numbers: prices must come back exactly).
CREATE TABLE IF NOT EXISTS providers (
    name           TEXT COLLATE "C" PRIMARY KEY,
    model          TEXT COLLATE "C" NOT NULL,
    active         BOOLEAN NOT NULL,
    context_window BIGINT NOT NULL,
    registered_at  TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    body           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS providers_active_model ON providers (active, model);
CREATE TABLE IF NOT EXISTS registry_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO registry_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

CREATE TABLE IF NOT EXISTS routing_entries (
    kind TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, name)
);
CREATE TABLE IF NOT EXISTS routing_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO routing_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

CREATE TABLE IF NOT EXISTS outcome_batches (
    id        BIGSERIAL PRIMARY KEY,
    newest_at DOUBLE PRECISION NOT NULL,
    outcomes  BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS outcome_batches_newest_at ON outcome_batches (newest_at);
CREATE TABLE IF NOT EXISTS stats_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO stats_epoch (id, epoch) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

-- Replicas: when the registry or the routing version moves (whichever router wrote it), every
-- router LISTENing on 'tollway_router' is told at commit, with the schema as the payload (routers
-- of another schema in the same database ignore it), and answers its snapshot long-polls.
CREATE OR REPLACE FUNCTION tollway_router_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tollway_router', current_schema());
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER registry_version_changed AFTER UPDATE ON registry_version
    FOR EACH ROW EXECUTE FUNCTION tollway_router_changed();
CREATE OR REPLACE TRIGGER routing_version_changed AFTER UPDATE ON routing_version
    FOR EACH ROW EXECUTE FUNCTION tollway_router_changed();
