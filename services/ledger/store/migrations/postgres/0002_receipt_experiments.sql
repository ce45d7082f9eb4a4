-- Receipts remember the A/B experiment and arm that routed them (the receipt's "experiment"), so
-- that an experiment's report (GET /routing/experiments/{name}/report) reads its own rows by index
-- instead of every receipt's JSON. Receipts already in the book are filled in from their bodies.

ALTER TABLE receipts ADD COLUMN IF NOT EXISTS experiment TEXT COLLATE "C";
ALTER TABLE receipts ADD COLUMN IF NOT EXISTS arm TEXT COLLATE "C";
UPDATE receipts SET experiment = body::jsonb -> 'experiment' ->> 'name', arm = body::jsonb -> 'experiment' ->> 'arm'
WHERE body LIKE '%"experiment"%';
CREATE INDEX IF NOT EXISTS receipts_by_experiment ON receipts (experiment, arm) WHERE experiment IS NOT NULL;
