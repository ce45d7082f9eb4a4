-- Retention deletes budget spend buckets by age (bucket_us < cutoff) across every scope: an index
-- on the bucket start, so the delete reads only the old buckets.

CREATE INDEX spend_buckets_by_age ON spend_buckets (bucket_us);
