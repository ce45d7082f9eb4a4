-- Series backfill (services/ledger/analytics/backfill.py, `tollway db backfill-series`): the
-- receipts booked before the series tables existed are not in them. Each one's request_id is put
-- here, once, by this migration; the backfill takes a batch (FOR UPDATE SKIP LOCKED: two ledgers
-- backfilling at once take different batches), adds it to the series through the ingest's own
-- series method and deletes it from here in the same transaction, so a receipt is added at most
-- once. Receipts booked after this migration were added by their ingest and are never here.
--
-- Which receipts: all of them when the series are empty (the series were created in this same
-- upgrade, or no receipt was booked since); otherwise (a book already at migration 0005, whose
-- ingest has been adding to the series since) those ingested before migration 0005 was applied.

CREATE TABLE series_backfill_pending (
    request_id TEXT COLLATE "C" PRIMARY KEY
);

INSERT INTO series_backfill_pending (request_id)
SELECT request_id FROM receipts
WHERE NOT EXISTS (SELECT 1 FROM series)
   OR ingested_us < (SELECT applied_us FROM schema_version WHERE version = 5);
