"""Lua scripts of the Redis cache store: each change to an entry and its indexes is one atomic
round trip. Every key starts with the store's prefix (ARGV[1]); a single Redis (not a cluster).

Per entry `P e:<key>` is a hash {d: entry JSON, v: vector, s: scope, t: tenant, m: model}; the
indexes are `P lru` (zset by last use: the counter `P tick`, exact even within a millisecond),
`P exp` (zset by expiry, ms), `P sz` (hash of sizes),
`P bytes` (total), `P t:<tenant>` and `P m:<model>` (sets of keys) and `P log` (a stream of
vector additions and removals that each replica's in-process mirror follows).
"""

from __future__ import annotations

_DROP = """
local function drop(p, key, semantic_log)
  local e = p .. 'e:' .. key
  local f = redis.call('HMGET', e, 't', 'm', 's')
  local size = redis.call('HGET', p .. 'sz', key)
  if size then
    redis.call('DECRBY', p .. 'bytes', size)
    redis.call('HDEL', p .. 'sz', key)
  end
  redis.call('ZREM', p .. 'lru', key)
  redis.call('ZREM', p .. 'exp', key)
  if f[1] then redis.call('SREM', p .. 't:' .. f[1], key) end
  if f[2] then redis.call('SREM', p .. 'm:' .. f[2], key) end
  if f[3] and f[3] ~= '' then
    redis.call('XADD', p .. 'log', 'MAXLEN', '~', semantic_log, '*', 'op', 'del', 'k', key, 's', f[3])
  end
  redis.call('DEL', e)
  return size and 1 or 0
end
"""

# ARGV: prefix, key, tenant, model, data, vector, scope, size, now_ms, ttl_ms, max_entries, max_bytes, log_len
PUT = _DROP + """
local p, key = ARGV[1], ARGV[2]
local now, ttl = tonumber(ARGV[9]), tonumber(ARGV[10])
local log_len = ARGV[13]
drop(p, key, log_len)
local e = p .. 'e:' .. key
redis.call('HSET', e, 'd', ARGV[5], 't', ARGV[3], 'm', ARGV[4], 's', ARGV[7], 'v', ARGV[6])
redis.call('PEXPIRE', e, ttl + 60000)
redis.call('ZADD', p .. 'lru', redis.call('INCR', p .. 'tick'), key)
redis.call('ZADD', p .. 'exp', now + ttl, key)
redis.call('HSET', p .. 'sz', key, ARGV[8])
redis.call('INCRBY', p .. 'bytes', ARGV[8])
redis.call('SADD', p .. 't:' .. ARGV[3], key)
redis.call('SADD', p .. 'm:' .. ARGV[4], key)
if ARGV[7] ~= '' then
  redis.call('XADD', p .. 'log', 'MAXLEN', '~', log_len, '*', 'op', 'add', 'k', key, 's', ARGV[7], 'v', ARGV[6])
end
local expired, evicted = 0, 0
for _, old in ipairs(redis.call('ZRANGEBYSCORE', p .. 'exp', '-inf', now, 'LIMIT', 0, 8)) do
  expired = expired + drop(p, old, log_len)
end
local max_entries, max_bytes = tonumber(ARGV[11]), tonumber(ARGV[12])
while redis.call('ZCARD', p .. 'lru') > max_entries
      or tonumber(redis.call('GET', p .. 'bytes') or '0') > max_bytes do
  local oldest = redis.call('ZRANGE', p .. 'lru', 0, 0)[1]
  if not oldest then break end
  evicted = evicted + drop(p, oldest, log_len)
end
return {expired, evicted}
"""

# ARGV: prefix, key, now_ms, log_len -> entry JSON, or false (gone or expired: then cleaned up)
GET = _DROP + """
local p, key, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local d = redis.call('HGET', p .. 'e:' .. key, 'd')
local exp = redis.call('ZSCORE', p .. 'exp', key)
if not d or not exp or tonumber(exp) <= now then
  if exp or d then drop(p, key, ARGV[4]) return {false, 1} end
  return {false, 0}
end
redis.call('ZADD', p .. 'lru', 'XX', redis.call('INCR', p .. 'tick'), key)
return {d, 0}
"""

# ARGV: prefix, log_len, mode (key|tenant|model|all), a, b -> how many dropped
INVALIDATE = _DROP + """
local p, log_len, mode = ARGV[1], ARGV[2], ARGV[3]
local keys
if mode == 'key' then
  keys = {ARGV[4]}
elseif mode == 'tenant' then
  keys = redis.call('SMEMBERS', p .. 't:' .. ARGV[4])
elseif mode == 'model' then
  keys = redis.call('SMEMBERS', p .. 'm:' .. ARGV[4])
else
  keys = redis.call('ZRANGE', p .. 'lru', 0, -1)
end
local n = 0
for _, key in ipairs(keys) do
  local keep = false
  if ARGV[5] and ARGV[5] ~= '' then
    local f = redis.call('HMGET', p .. 'e:' .. key, 't', 'm')
    keep = (mode == 'model' and f[1] ~= ARGV[5]) or (mode == 'tenant' and f[2] ~= ARGV[5])
           or (mode == 'key' and f[1] ~= ARGV[5])
  end
  if not keep then n = n + drop(p, key, log_len) end
end
return n
"""
