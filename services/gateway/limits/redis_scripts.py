"""The Lua scripts of the Redis backend: the four algorithms of this package, line for line, so a
limit decides the same in Redis as in process. Lua numbers are doubles: every value stays an
integer below 2**53 (see the bounds in spec.py) and is written back with '%.0f'.

Keys: two per limit (the state hash; the log's sorted set of timestamps, sliding log only), then
the day's violations hash. Per limit the arguments are: algorithm (1 token bucket, 2 sliding log,
3 sliding window, 4 fixed window), three parameters a, b, c (see redis_backend.params) and two
more that depend on the script.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

_ALGORITHMS = r"""
local now = tonumber(ARGV[1])

local function floordiv(a, b)  -- exact floor(a / b) for integers below 2^53, b > 0
  local q = math.floor(a / b)
  if q * b > a then q = q - 1 elseif (q + 1) * b <= a then q = q + 1 end
  return q
end
local function ceildiv(a, b) return -floordiv(-a, b) end
local function int(x) return string.format('%.0f', x) end
local function expire(key, us)  -- a state lives while it differs from no state, and a second more
  redis.call('PEXPIRE', key, math.max(0, ceildiv(us, 1000)) + 1000)
end

local function charge_current(save)  -- the windows: a charge counts in the current window
  return function(k, s, p, cost)
    s.c = s.c + cost
    save(k, s, p)
  end
end

-- 1 token bucket: a = capacity in units, b = units per token, c = units refilled per microsecond
local bucket = {}
function bucket.load(k, p)
  local s = redis.call('HMGET', k[1], 't', 'l')
  local tokens, last = tonumber(s[1]), tonumber(s[2])
  if not tokens then return {t = p.a, l = now} end
  if now > last then
    local gain = (now - last) * p.c
    if gain >= p.a - tokens then tokens = p.a else tokens = tokens + gain end
    last = now
  end
  return {t = tokens, l = last}
end
function bucket.decide(k, s, p, cost)
  local need = cost * p.b
  if s.t >= need then
    local after = s.t - need
    return 1, floordiv(after, p.b), ceildiv(p.a - after, p.c), 0
  end
  local retry = -1
  if need <= p.a then retry = ceildiv(need - s.t, p.c) end
  return 0, math.max(0, floordiv(s.t, p.b)), ceildiv(p.a - s.t, p.c), retry
end
local function bucket_save(k, s, p)
  redis.call('HSET', k[1], 't', int(s.t), 'l', int(s.l))
  expire(k[1], s.l + ceildiv(p.a - s.t, p.c) - now)
end
function bucket.charge(k, s, p, cost)
  s.t = s.t - cost * p.b
  bucket_save(k, s, p)
end
function bucket.correct(k, s, p, delta, at)
  s.t = math.max(-p.a, math.min(p.a, s.t - delta * p.b))
  bucket_save(k, s, p)
end

-- 2 sliding log: a = limit, b = window in microseconds; hash 't' = total, '<ts>' = cost at ts
local log = {}
function log.load(k, p)
  local cutoff = int(now - p.b)
  local total = tonumber(redis.call('HGET', k[1], 't')) or 0
  local old = redis.call('ZRANGEBYSCORE', k[2], '-inf', cutoff)
  if #old > 0 then
    for _, ts in ipairs(old) do
      total = total - (tonumber(redis.call('HGET', k[1], ts)) or 0)
      redis.call('HDEL', k[1], ts)
    end
    redis.call('ZREMRANGEBYSCORE', k[2], '-inf', cutoff)
    redis.call('HSET', k[1], 't', int(total))
  end
  local newest = redis.call('ZRANGE', k[2], -1, -1, 'WITHSCORES')
  return {t = total, n = tonumber(newest[2])}
end
function log.decide(k, s, p, cost)
  local limit, window, newest = p.a, p.b, s.n
  if s.t + cost <= limit then
    if cost > 0 and (newest == nil or now > newest) then newest = now end
    local reset = 0
    if newest then reset = newest + window - now end
    return 1, limit - s.t - cost, reset, 0
  end
  local reset = 0
  if newest then reset = newest + window - now end
  local remaining = math.max(0, limit - s.t)
  if cost > limit then return 0, remaining, reset, -1 end
  local need, freed = s.t + cost - limit, 0
  for _, ts in ipairs(redis.call('ZRANGE', k[2], 0, -1)) do
    freed = freed + (tonumber(redis.call('HGET', k[1], ts)) or 0)
    if freed >= need then return 0, remaining, reset, tonumber(ts) + window - now end
  end
  error('sliding log: the running total disagrees with the entries of ' .. k[1])
end
function log.charge(k, s, p, cost)
  if cost == 0 then return end
  local ts = now
  if s.n and s.n > now then ts = s.n end
  local f = int(ts)
  redis.call('HINCRBY', k[1], f, int(cost))
  redis.call('HINCRBY', k[1], 't', int(cost))
  redis.call('ZADD', k[2], f, f)
  expire(k[1], ts + p.b - now)
  expire(k[2], ts + p.b - now)
end
function log.correct(k, s, p, delta, at)
  if at <= now - p.b then return end
  local f = int(at)
  local spent = tonumber(redis.call('HGET', k[1], f)) or 0
  local new = math.max(0, spent + delta)
  if new == spent then return end
  redis.call('HSET', k[1], f, int(new), 't', int(s.t + new - spent))
  redis.call('ZADD', k[2], f, f)
  local newest = at
  if s.n and s.n > at then newest = s.n end
  expire(k[1], newest + p.b - now)
  expire(k[2], newest + p.b - now)
end

-- 3 sliding window, weighted: a = limit, b = window in milliseconds, c = most a counter may hold
local weighted = {}
function weighted.load(k, p)
  local index = floordiv(floordiv(now, 1000), p.b)
  local s = redis.call('HMGET', k[1], 'i', 'c', 'p')
  local i = tonumber(s[1])
  if not i then return {i = index, c = 0, p = 0} end
  local cur, prev = tonumber(s[2]), tonumber(s[3])
  if index > i then
    if index == i + 1 then prev = cur else prev = 0 end
    cur, i = 0, index
  end
  return {i = i, c = cur, p = prev}
end
local function full_at(s, cur, p)
  if cur > 0 then return (s.i + 2) * p.b * 1000 end
  if s.p > 0 then return (s.i + 1) * p.b * 1000 end
  return 0
end
function weighted.decide(k, s, p, cost)
  local window, limit = p.b, p.a
  local elapsed = math.max(0, floordiv(now, 1000) - s.i * window)
  local estimate = s.p * (window - elapsed) + s.c * window
  local room = limit * window
  if estimate + cost * window <= room then
    return 1, floordiv(room - estimate - cost * window, window), math.max(0, full_at(s, s.c + cost, p) - now), 0
  end
  local remaining = math.max(0, floordiv(room - estimate, window))
  local reset = math.max(0, full_at(s, s.c, p) - now)
  if cost > limit then return 0, remaining, reset, -1 end
  local at
  if s.c + cost > limit then
    at = (s.i + 1) * window + math.max(0, window - floordiv((limit - cost) * window, s.c))
  else
    at = (s.i + 1) * window - floordiv((limit - s.c - cost) * window, s.p)
  end
  return 0, remaining, reset, at * 1000 - now
end
local function weighted_save(k, s, p)
  redis.call('HSET', k[1], 'i', int(s.i), 'c', int(s.c), 'p', int(s.p))
  expire(k[1], full_at(s, s.c, p) - now)
end
weighted.charge = charge_current(weighted_save)
function weighted.correct(k, s, p, delta, at)
  local index = floordiv(floordiv(at, 1000), p.b)
  if index == s.i then s.c = math.max(0, math.min(p.c, s.c + delta))
  elseif index == s.i - 1 then s.p = math.max(0, math.min(p.c, s.p + delta))
  else return end
  weighted_save(k, s, p)
end

-- 4 fixed window: a = limit, b = window in microseconds
local fixed = {}
function fixed.load(k, p)
  local index = floordiv(now, p.b)
  local s = redis.call('HMGET', k[1], 'i', 'c')
  local i = tonumber(s[1])
  if not i or index > i then return {i = index, c = 0} end
  return {i = i, c = tonumber(s[2])}
end
function fixed.decide(k, s, p, cost)
  local ends_in = (s.i + 1) * p.b - now
  if s.c + cost <= p.a then return 1, p.a - s.c - cost, ends_in, 0 end
  local retry = ends_in
  if cost > p.a then retry = -1 end
  return 0, math.max(0, p.a - s.c), ends_in, retry
end
local function fixed_save(k, s, p)
  redis.call('HSET', k[1], 'i', int(s.i), 'c', int(s.c))
  expire(k[1], (s.i + 1) * p.b - now)
end
fixed.charge = charge_current(fixed_save)
function fixed.correct(k, s, p, delta, at)
  if floordiv(at, p.b) ~= s.i then return end
  s.c = math.max(0, s.c + delta)
  fixed_save(k, s, p)
end

local ALGORITHMS = {bucket, log, weighted, fixed}
local function limit_at(j, first)  -- the algorithm, keys and parameters of limit j
  local a = first + (j - 1) * 6
  local p = {a = tonumber(ARGV[a + 1]), b = tonumber(ARGV[a + 2]), c = tonumber(ARGV[a + 3])}
  return ALGORITHMS[tonumber(ARGV[a])], {KEYS[2 * j - 1], KEYS[2 * j]}, p, a
end
"""

# ARGV: now_us, 'check' | 'peek', then per limit: algorithm, a, b, c, cost, name.
# Returns four integers per limit: allowed (1 | 0), remaining, reset_us, retry_after_us (-1: never).
_CHECK = _ALGORITHMS + r"""
local mode = ARGV[2]
local n = (#ARGV - 2) / 6
local todo, out, ok = {}, {}, true
for j = 1, n do
  local algo, k, p, a = limit_at(j, 3)
  local cost = tonumber(ARGV[a + 4])
  local s = algo.load(k, p)
  local allowed, remaining, reset, retry = algo.decide(k, s, p, cost)
  todo[j] = {algo, k, s, p, cost}
  out[4 * j - 3], out[4 * j - 2], out[4 * j - 1], out[4 * j] = allowed, remaining, reset, retry
  if allowed == 0 then ok = false end
end
if mode == 'check' then
  if ok then
    for j = 1, n do
      local t = todo[j]
      t[1].charge(t[2], t[3], t[4], t[5])
    end
  else
    local violations = KEYS[2 * n + 1]
    for j = 1, n do
      if out[4 * j - 3] == 0 then redis.call('HINCRBY', violations, ARGV[2 + 6 * j], 1) end
    end
    redis.call('EXPIRE', violations, 8 * 86400)  -- kept eight days
  end
end
return out
"""

# ARGV: now_us, then per limit: algorithm, a, b, c, delta, at_us. Returns how many were corrected.
_CORRECT = _ALGORITHMS + r"""
local n = (#ARGV - 1) / 6
for j = 1, n do
  local algo, k, p, a = limit_at(j, 2)
  algo.correct(k, algo.load(k, p), p, tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]))
end
return n
"""


@dataclass(frozen=True)
class Script:
    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode()).hexdigest())


CHECK = Script(_CHECK)
CORRECT = Script(_CORRECT)
