-- Latency sketches stored as 16-bit (index, count) pairs instead of int32 ones
-- (services/ledger/analytics/sketch.py): 4 bytes a bucket, so a query reads about half the bytes
-- (docs/analytics.md, "Speed"). Every stored sketch is converted in place, as
-- services/ledger/analytics/sketch_v1.py `upgraded` does: the zero bucket -2^31 becomes -2^15, an
-- index past +-32767 joins +-32767, a count above 65,535 becomes several pairs of its index.

CREATE FUNCTION pg_temp.tollway_int4(b bytea, o integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT get_byte(b, o) | (get_byte(b, o + 1) << 8) | (get_byte(b, o + 2) << 16) | (get_byte(b, o + 3) << 24)
$$;
CREATE FUNCTION pg_temp.tollway_le2(v integer) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT set_byte(set_byte('\x0000'::bytea, 0, v & 255), 1, (v >> 8) & 255)
$$;
CREATE FUNCTION pg_temp.tollway_upgrade(b bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(string_agg(pg_temp.tollway_le2(p.idx) || pg_temp.tollway_le2(LEAST(p.n - 65535 * k, 65535)::integer),
                               ''::bytea ORDER BY p.idx, k), ''::bytea)
    FROM (SELECT CASE WHEN pg_temp.tollway_int4(b, o) = -2147483648 THEN -32768
                      ELSE GREATEST(LEAST(pg_temp.tollway_int4(b, o), 32767), -32767) END AS idx,
                 SUM(pg_temp.tollway_int4(b, o + 4)) AS n
          FROM generate_series(0, length(b) - 8, 8) AS o GROUP BY 1) AS p,
         generate_series(0, GREATEST(p.n - 1, 0) / 65535) AS k
$$;

UPDATE series_latency SET latency = pg_temp.tollway_upgrade(latency);
UPDATE series_by_dimension SET latency = pg_temp.tollway_upgrade(latency);

DROP FUNCTION pg_temp.tollway_upgrade(bytea);
DROP FUNCTION pg_temp.tollway_le2(integer);
DROP FUNCTION pg_temp.tollway_int4(bytea, integer);
