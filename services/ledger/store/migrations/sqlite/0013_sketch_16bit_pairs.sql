-- Latency sketches stored as 16-bit (index, count) pairs instead of int32 ones
-- (services/ledger/analytics/sketch.py): 4 bytes a bucket, so a day row's sketch stays inside its
-- b-tree page and a query reads about half the bytes (docs/analytics.md, "Speed"). Every stored
-- sketch is converted in place by `tollway_sketch_upgrade` (services/ledger/analytics/sketch_v1.py).

UPDATE series_latency SET latency = tollway_sketch_upgrade(latency);
UPDATE series_by_dimension SET latency = tollway_sketch_upgrade(latency);
