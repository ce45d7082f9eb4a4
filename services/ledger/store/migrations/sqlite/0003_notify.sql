-- On PostgreSQL, 0003 makes a change of the budget or keys version NOTIFY the other ledgers.
-- A SQLite file has one ledger: nothing to do here (kept so both folders number alike).
SELECT 1;
