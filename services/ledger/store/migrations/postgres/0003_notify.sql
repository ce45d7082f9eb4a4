-- Replicas: when the budget or the keys version moves (whichever ledger wrote it), every ledger
-- LISTENing on 'tollway_ledger' is told at commit, with the schema as the payload (ledgers of
-- another schema in the same database ignore it), and answers its snapshot long-polls
-- (services/common/db_watch.py). SQLite has one ledger: nothing to do there.
CREATE OR REPLACE FUNCTION tollway_ledger_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tollway_ledger', current_schema());
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER meta_version_changed AFTER UPDATE ON meta
    FOR EACH ROW WHEN (OLD.value IS DISTINCT FROM NEW.value) EXECUTE FUNCTION tollway_ledger_changed();
