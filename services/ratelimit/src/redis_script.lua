-- Applies hits to up to 8 limits of one descriptor, atomically (all pass or
-- none is written): the Redis twin of Store::ApplyAll. Each algorithm below
-- is a line-by-line port of its C++ twin (token_bucket.cc, gcra.cc,
-- fixed_window.cc, sliding_window.cc, concurrency.cc) with time in whole
-- microseconds instead of nanoseconds; see services/ratelimit/docs/redis.md.
--
-- KEYS[i]  the state of limit i; all keys share one hash tag (one slot).
-- ARGV[1]  hits (> 0 consume, 0 query, < 0 refund)
-- ARGV[2]  now in microseconds since the epoch; 0: the server's TIME, so
--          every Keel instance shares the one clock of the key's shard
-- ARGV[3 + 5(i-1) ..]  limit i: algorithm, n, capacity, period_us, t_us
--          algorithm: 0 fixed_window, 1 token_bucket, 2 gcra,
--          3 sliding_window, 4 concurrency (limit.h's Algorithm values)
-- State:   "expiry_us a b" (a, b algorithm-specific), the key expiring at
--          expiry (from then on the state is fresh, as in state.h; PX from
--          now rather than PXAT, so that tests may pass their own now).
-- Reply:   5 integers per limit: code (0 ok, 1 over), limit, remaining,
--          reset_after_us, retry_after_us (-1: never).
local NEVER = -1

local function load(key)
  local v = redis.call('GET', key)
  if not v then return 0, 0, 0 end
  local e, a, b = string.match(v, '^(%S+) (%S+) (%S+)$')
  if not e then return 0, 0, 0 end
  return tonumber(e) or 0, tonumber(a) or 0, tonumber(b) or 0
end

local function clamp(x, lo, hi)
  if x < lo then return lo end
  if x > hi then return hi end
  return x
end

local function token_bucket(n, c, p, st, hits, now)
  local max_debt = math.floor(c * p / n)
  local debt = clamp(st[1] - now, 0, max_debt)
  if hits > 0 and debt * n + hits * p > c * p then
    local retry = NEVER
    if hits <= c then retry = math.ceil((debt * n + hits * p - c * p) / n) end
    return {1, c, math.max(0, math.floor((c * p - debt * n) / p)), math.ceil(debt), retry}
  end
  local new_debt = debt
  if hits > 0 then
    new_debt = debt + math.ceil(hits * p / n)
  elseif hits < 0 then
    new_debt = math.max(0, debt - math.floor(-hits * p / n))
  end
  st[1], st[2], st[3] = now + new_debt, 0, 0
  return {0, c, math.max(0, math.floor((c * p - new_debt * n) / p)), math.ceil(new_debt), 0}
end

local function gcra(c, t, st, hits, now)
  local tau = t * c
  local tat = math.max(st[1], now)
  local increment = t * hits
  local new_tat = tat + increment
  local allow_at = new_tat - tau
  local r, ttl
  if now < allow_at then
    local retry = NEVER
    if increment <= tau then retry = allow_at - now end
    r = {1, c, 0, 0, retry}
    ttl = tat - now
  else
    local stored = math.max(new_tat, now)
    if hits ~= 0 then st[1], st[2], st[3] = stored, 0, 0 end
    r = {0, c, 0, 0, 0}
    ttl = stored - now
  end
  local next = tau - ttl
  if next > 0 then r[3] = math.floor(next / t) end
  r[4] = ttl
  return r
end

local function fixed_window(n, p, st, hits, now)
  local e, count = st[1], st[2]
  if now >= e then
    e = (math.floor(now / p) + 1) * p
    count = 0
  end
  count = math.min(count, n)
  local reset = 0
  if count > 0 then reset = e - now end
  if hits > 0 and hits > n - count then
    local retry = NEVER
    if hits <= n then retry = e - now end
    return {1, n, n - count, reset, retry}
  end
  if hits > 0 then
    count = count + hits
  elseif hits < 0 then
    count = math.max(0, count + hits)
  end
  st[1], st[2], st[3] = e, count, 0
  reset = 0
  if count > 0 then reset = e - now end
  return {0, n, n - count, reset, 0}
end

-- The stored windows rolled forward to the one holding now (two_windows.h).
local function two_windows(st, p, now, restart_at_now)
  local cur_end, prev, cur = st[1] - p, st[2], st[3]
  if now >= cur_end + p then
    if restart_at_now then cur_end = now + p else cur_end = (math.floor(now / p) + 1) * p end
    prev, cur = 0, 0
  elseif now >= cur_end then
    cur_end, prev, cur = cur_end + p, cur, 0
  end
  return cur_end, prev, cur
end

local function max_left(prev, k, p)
  if prev == 0 then return p end
  return math.min(math.ceil((k + 1) * p / prev) - 1, p)
end

local function sliding_window(n, p, st, hits, now)
  local cur_end, prev, cur = two_windows(st, p, now, true)
  prev, cur = math.min(prev, n), math.min(cur, n)
  local left = clamp(cur_end - now, 0, p)
  local used = math.min(math.floor(prev * left / p) + cur, n)
  local function reset()
    if cur > 0 then return cur_end + p - now end
    if prev > 0 then return left end
    return 0
  end
  if hits > 0 and hits > n - used then
    local retry
    if hits > n then
      retry = NEVER
    elseif cur + hits <= n then
      retry = left - max_left(prev, n - cur - hits, p)
    else
      retry = left + p - max_left(cur, n - hits, p)
    end
    return {1, n, n - used, reset(), retry}
  end
  if hits > 0 then
    cur = cur + hits
  elseif hits < 0 then
    local refund = -hits
    local from_cur = math.min(refund, cur)
    cur = cur - from_cur
    prev = prev - math.min(refund - from_cur, prev)
  end
  st[1], st[2], st[3] = cur_end + p, prev, cur
  local remaining = n - math.min(math.floor(prev * left / p) + cur, n)
  return {0, n, remaining, reset(), 0}
end

local function concurrency(n, ttl, st, hits, now)
  local cur_end, prev, cur = two_windows(st, ttl, now, false)
  prev = math.min(prev, n)
  cur = math.min(cur, n - prev)
  local prev_left = math.max(cur_end - now, 0)
  local function reset()
    if cur > 0 then return prev_left + ttl end
    if prev > 0 then return prev_left end
    return 0
  end
  if hits > 0 and hits > n - prev - cur then
    local retry
    if hits > n then
      retry = NEVER
    elseif hits <= n - cur then
      retry = prev_left
    else
      retry = prev_left + ttl
    end
    return {1, n, n - prev - cur, reset(), retry}
  end
  if hits > 0 then
    cur = cur + hits
  elseif hits < 0 then
    local release = -hits
    local from_prev = math.min(release, prev)
    prev = prev - from_prev
    cur = cur - math.min(release - from_prev, cur)
  end
  st[1], st[2], st[3] = cur_end + ttl, prev, cur
  return {0, n, n - prev - cur, reset(), 0}
end

local hits = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- One limit's decision; st (its state, fresh if expired) is updated in place.
local function decide(i, st, h)
  local base = 3 + 5 * (i - 1)
  local algorithm = tonumber(ARGV[base])
  local n, c = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
  local p, t = tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4])
  if algorithm == 1 then return token_bucket(n, c, p, st, h, now) end
  if algorithm == 2 then return gcra(c, t, st, h, now) end
  if algorithm == 3 then return sliding_window(n, p, st, h, now) end
  if algorithm == 4 then return concurrency(n, p, st, h, now) end
  return fixed_window(n, p, st, h, now)
end

local before, states, results, all_ok = {}, {}, {}, true
for i = 1, #KEYS do
  local e, a, b = load(KEYS[i])
  if now >= e then e, a, b = 0, 0, 0 end
  before[i] = {e, a, b}
  states[i] = {e, a, b}
  results[i] = decide(i, states[i], hits)
  if results[i][1] ~= 0 then all_ok = false end
end
if not all_ok and #KEYS > 1 then
  -- The passing limits are not charged: report them as they stand.
  for i = 1, #KEYS do
    if results[i][1] == 0 then results[i] = decide(i, before[i], 0) end
  end
end
if all_ok and hits ~= 0 then
  for i = 1, #KEYS do
    local st = states[i]
    if st[1] > now then
      redis.call('SET', KEYS[i], string.format('%.17g %.17g %.17g', st[1], st[2], st[3]),
                 'PX', string.format('%.0f', math.max(1, math.ceil((st[1] - now) / 1000))))
    else
      redis.call('DEL', KEYS[i])
    end
  end
end
local reply = {}
for i = 1, #KEYS do
  for j = 1, 5 do reply[#reply + 1] = results[i][j] end
end
return reply
