-- Pre-merged series rows (services/ledger/analytics/premerge.py): per grain, bucket and single
-- dimension value, the counters and the latency sketch of every receipt with that value; dimension ''
-- is the total (value ''), `tag` holds each tag's rows, run_id has none. A query grouped or filtered
-- by at most one dimension reads one row per bucket and value here instead of one per tuple.
-- Filled from the tuple rows already stored; the sketches are merged by `tollway_sketch_sum`, an
-- aggregate the ledger registers on its connection (services/ledger/store/sqlite/sketch_sql.py).

CREATE TABLE IF NOT EXISTS series_by_dimension (
    grain         TEXT NOT NULL,
    dimension     TEXT NOT NULL,
    bucket_us     INTEGER NOT NULL,
    value         TEXT NOT NULL,
    cost_micros   INTEGER NOT NULL,
    requests      INTEGER NOT NULL,
    errors        INTEGER NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL,
    cache_hits    INTEGER NOT NULL,
    saved_micros  INTEGER NOT NULL,
    latency       BLOB NOT NULL,  -- the latency sketch: (bucket index, count) pairs, int32 little-endian
    PRIMARY KEY (grain, dimension, bucket_us, value)
) WITHOUT ROWID;

INSERT INTO series_by_dimension
WITH names (dimension) AS (
    VALUES (''), ('provider'), ('model'), ('key_id'), ('user_id'), ('team'), ('org'), ('agent'), ('tag')
), dims AS (
    SELECT s.grain, n.dimension, s.bucket_us,
           CASE n.dimension WHEN 'provider' THEN s.provider WHEN 'model' THEN s.model WHEN 'key_id' THEN s.key_id
                WHEN 'user_id' THEN s.user_id WHEN 'team' THEN s.team WHEN 'org' THEN s.org
                WHEN 'agent' THEN s.agent WHEN 'tag' THEN s.tag ELSE '' END AS value,
           s.cost_micros, s.requests, s.errors, s.input_tokens, s.output_tokens, s.cached_tokens, s.cache_hits,
           s.saved_micros, l.latency
    FROM series s
    JOIN names n ON (s.tag = '') = (n.dimension <> 'tag')  -- untagged rows: the total and each column; tag rows: 'tag'
    LEFT JOIN series_latency l
        USING (grain, tag, bucket_us, provider, model, key_id, user_id, team, org, run_id, agent)
)
SELECT grain, dimension, bucket_us, value, SUM(cost_micros), SUM(requests), SUM(errors), SUM(input_tokens),
       SUM(output_tokens), SUM(cached_tokens), SUM(cache_hits), SUM(saved_micros), tollway_sketch_sum(latency)
FROM dims GROUP BY grain, dimension, bucket_us, value;
