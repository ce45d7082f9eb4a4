-- Receipts remember the A/B experiment and arm that routed them (the receipt's "experiment"), so
-- that an experiment's report (GET /routing/experiments/{name}/report) reads its own rows by index
-- instead of every receipt's JSON. Receipts already in the book are filled in from their bodies.

ALTER TABLE receipts ADD COLUMN experiment TEXT;
ALTER TABLE receipts ADD COLUMN arm TEXT;
UPDATE receipts SET experiment = json_extract(body, '$.experiment.name'), arm = json_extract(body, '$.experiment.arm')
WHERE body LIKE '%"experiment"%' AND json_valid(body);
CREATE INDEX IF NOT EXISTS receipts_by_experiment ON receipts (experiment, arm) WHERE experiment IS NOT NULL;
