-- Pre-merged series rows (services/ledger/analytics/premerge.py): per grain, bucket and single
-- dimension value, the counters and the latency sketch of every receipt with that value; dimension ''
-- is the total (value ''), `tag` holds each tag's rows, run_id has none. A query grouped or filtered
-- by at most one dimension reads one row per bucket and value here instead of one per tuple.
-- Filled from the tuple rows already stored: each sketch's (index, count) int32 little-endian pairs
-- are read with get_byte, the counts summed per index, and written back in index order.

CREATE TABLE IF NOT EXISTS series_by_dimension (
    grain         TEXT COLLATE "C" NOT NULL,
    dimension     TEXT COLLATE "C" NOT NULL,
    bucket_us     BIGINT NOT NULL,
    value         TEXT COLLATE "C" NOT NULL,
    cost_micros   BIGINT NOT NULL,
    requests      BIGINT NOT NULL,
    errors        BIGINT NOT NULL,
    input_tokens  BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    cached_tokens BIGINT NOT NULL,
    cache_hits    BIGINT NOT NULL,
    saved_micros  BIGINT NOT NULL,
    latency       BYTEA NOT NULL,  -- the latency sketch: (bucket index, count) pairs, int32 little-endian
    PRIMARY KEY (grain, dimension, bucket_us, value)
);

CREATE FUNCTION pg_temp.tollway_le4(v integer) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT set_byte(set_byte(set_byte(set_byte('\x00000000'::bytea, 0, v & 255), 1, (v >> 8) & 255),
                             2, (v >> 16) & 255), 3, (v >> 24) & 255)
$$;

CREATE FUNCTION pg_temp.tollway_int4(b bytea, o integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT get_byte(b, o) | (get_byte(b, o + 1) << 8) | (get_byte(b, o + 2) << 16) | (get_byte(b, o + 3) << 24)
$$;

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
    LEFT JOIN series_latency l ON (l.grain, l.tag, l.bucket_us, l.provider, l.model, l.key_id, l.user_id, l.team,
                                   l.org, l.run_id, l.agent)
                                = (s.grain, s.tag, s.bucket_us, s.provider, s.model, s.key_id, s.user_id, s.team,
                                   s.org, s.run_id, s.agent)
), counters AS (
    SELECT grain, dimension, bucket_us, value, SUM(cost_micros) AS cost_micros, SUM(requests) AS requests,
           SUM(errors) AS errors, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
           SUM(cached_tokens) AS cached_tokens, SUM(cache_hits) AS cache_hits, SUM(saved_micros) AS saved_micros
    FROM dims GROUP BY grain, dimension, bucket_us, value
), pairs AS (
    SELECT grain, dimension, bucket_us, value, pg_temp.tollway_int4(latency, o) AS idx,
           pg_temp.tollway_int4(latency, o + 4) AS n
    FROM dims, generate_series(0, length(latency) - 8, 8) AS o
    WHERE latency IS NOT NULL
), summed AS (
    SELECT grain, dimension, bucket_us, value, idx, SUM(n)::integer AS n
    FROM pairs GROUP BY grain, dimension, bucket_us, value, idx
), sketches AS (
    SELECT grain, dimension, bucket_us, value,
           string_agg(pg_temp.tollway_le4(idx) || pg_temp.tollway_le4(n), ''::bytea ORDER BY idx) AS latency
    FROM summed GROUP BY grain, dimension, bucket_us, value
)
SELECT c.grain, c.dimension, c.bucket_us, c.value, c.cost_micros, c.requests, c.errors, c.input_tokens,
       c.output_tokens, c.cached_tokens, c.cache_hits, c.saved_micros, COALESCE(s.latency, ''::bytea)
FROM counters c LEFT JOIN sketches s USING (grain, dimension, bucket_us, value);

DROP FUNCTION pg_temp.tollway_le4(integer);
DROP FUNCTION pg_temp.tollway_int4(bytea, integer);
