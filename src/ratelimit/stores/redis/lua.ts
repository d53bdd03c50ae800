import type { AlgorithmKind } from '../../algorithms/algorithm.js';

/*
 * The Lua twins of src/ratelimit/algorithms: the same arithmetic on the same state layout, 1-based
 * (`s[1]` is the end of a block, the algorithm's slots follow). A key's state is one Redis string,
 * its slots packed as doubles, written with a TTL of the algorithm's `ttl`, so one key is touched
 * per decision and an idle key leaves by itself. Time is Redis' own (`TIME`), in whole ms (µs for
 * GCRA, as the TypeScript twin computes it from whole ms), never the caller's clock.
 *
 * One call decides for a batch of keys of one limiter, each on its own key, all at one `now`:
 * KEYS: the keys. ARGV: limit, windowDuration, capacity, blockDuration, ttl, slots, then for each
 * key its op ('c' consume, 'a' adjust, 'p' peek) and n (cost or points). Reply: for each key
 * allowed (1|0), limit, remaining, resetMs, retryAfterMs, the fields of a Decision, in a row.
 */

/** Where `now` comes from: Redis, or (for the twin tests only) the first argument. */
const REDIS_TIME = `
local max, min, floor, ceil = math.max, math.min, math.floor, math.ceil
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + floor(tonumber(t[2]) / 1000)
local a = 0
`;
const ARGUMENT_TIME = `
local max, min, floor, ceil = math.max, math.min, math.floor, math.ceil
local now = tonumber(ARGV[1])
local a = 1
`;

const LIMITS = `
local limit = tonumber(ARGV[a + 1])
local w = tonumber(ARGV[a + 2])
local capacity = tonumber(ARGV[a + 3])
local block = tonumber(ARGV[a + 4])
local ttl = tonumber(ARGV[a + 5])
local slots = tonumber(ARGV[a + 6])
`;

/** Each defines evaluate(s, now, cost, commit) -> decision and shift(s, now, points). */
const ALGORITHMS: Record<AlgorithmKind, string> = {
  'fixed-window': `
local function roll(s, now)
  local start = s[2]
  if now < start + w then return start end
  local current = now - (now % w)
  s[2] = current
  s[3] = 0
  return current
end
local function evaluate(s, now, cost, commit)
  local start = roll(s, now)
  local count = s[3]
  local allowed = count + cost <= limit
  if commit and allowed then
    count = count + cost
    s[3] = count
  end
  local reset = 0
  if count > 0 then reset = start + w - now end
  local retry = 0
  if not allowed then retry = reset end
  return {allowed, limit, limit - count, reset, retry}
end
local function shift(s, now, points)
  roll(s, now)
  local count = s[3] + points
  if count < 0 then s[3] = 0 else s[3] = min(count, limit) end
end
`,
  'sliding-window': `
local function roll(s, now)
  local start = s[2]
  if now < start + w then return start end
  if now < start + 2 * w then s[4] = s[3] else s[4] = 0 end
  s[3] = 0
  local current = now - (now % w)
  s[2] = current
  return current
end
local function offset(carried, room)
  return w - floor((room * w) / carried)
end
local function wait(start, now, count, previous, cost)
  local room = limit - count - cost
  if room >= 0 then return start + offset(previous, room) - now end
  return start + w + max(0, offset(count, limit - cost)) - now
end
local function evaluate(s, now, cost, commit)
  local start = roll(s, now)
  local count = s[3]
  local previous = s[4]
  local weighted = previous * (w - (now - start))
  local allowed = weighted + (count + cost) * w <= limit * w
  if commit and allowed then
    count = count + cost
    s[3] = count
  end
  local left = floor((limit * w - weighted - count * w) / w)
  local reset = 0
  if count > 0 then reset = start + 2 * w - now elseif previous > 0 then reset = start + w - now end
  local retry = 0
  if not allowed then retry = wait(start, now, count, previous, cost) end
  return {allowed, limit, max(left, 0), reset, retry}
end
local function shift(s, now, points)
  roll(s, now)
  local count = s[3] + points
  if count >= 0 then
    s[3] = min(count, limit)
    return
  end
  s[3] = 0
  s[4] = max(s[4] + count, 0)
end
`,
  'token-bucket': `
local full = capacity * w
local function missing_at(s, now)
  local elapsed = now - s[3]
  local missing = s[2]
  if elapsed > 0 then missing = missing - elapsed * limit end
  return max(missing, 0)
end
local function write(s, now, missing)
  s[2] = missing
  if now > s[3] then s[3] = now end
end
local function evaluate(s, now, cost, commit)
  local missing = missing_at(s, now)
  local after = missing + cost * w
  local allowed = after <= full
  if commit then
    if allowed then missing = after end
    write(s, now, missing)
  end
  local retry = 0
  if not allowed then retry = ceil((after - full) / limit) end
  return {allowed, capacity, floor((full - missing) / w), ceil(missing / limit), retry}
end
local function shift(s, now, points)
  local missing = missing_at(s, now) + points * w
  if missing < 0 then missing = 0 else missing = min(missing, full) end
  write(s, now, missing)
end
`,
  gcra: `
local interval = max(1, floor((w * 1000) / limit + 0.5))
local tolerance = interval * capacity
local function evaluate(s, now_ms, cost, commit)
  local now = now_ms * 1000
  local tat = max(s[2], now)
  local next = tat + cost * interval
  local allowed = next - now <= tolerance
  local ahead = tat - now
  if commit and allowed then
    s[2] = next
    ahead = next - now
  end
  local retry = 0
  if not allowed then retry = ceil((next - now - tolerance) / 1000) end
  return {allowed, capacity, floor((tolerance - ahead) / interval), ceil(ahead / 1000), retry}
end
local function shift(s, now_ms, points)
  local now = now_ms * 1000
  local tat = max(s[2], now) + points * interval
  if tat < now then s[2] = now else s[2] = min(tat, now + tolerance) end
end
`,
  'sliding-log': `
local function at(s, i)
  return s[4 + ((s[2] + i) % limit)]
end
local function prune(s, now)
  local head = s[2]
  local size = s[3]
  while size > 0 and s[4 + head] + w <= now do
    head = (head + 1) % limit
    size = size - 1
  end
  if size == 0 then s[2] = 0 else s[2] = head end
  s[3] = size
  return size
end
local function push(s, now, count)
  local head = s[2]
  local size = s[3]
  for _ = 1, count do
    if size == limit then head = (head + 1) % limit else size = size + 1 end
    s[4 + ((head + size - 1) % limit)] = now
  end
  s[2] = head
  s[3] = size
end
local function evaluate(s, now, cost, commit)
  local size = prune(s, now)
  local allowed = size + cost <= limit
  if commit and allowed then
    push(s, now, cost)
    size = size + cost
  end
  local reset = 0
  if size > 0 then reset = at(s, size - 1) + w - now end
  local retry = 0
  if not allowed then retry = at(s, size + cost - limit - 1) + w - now end
  return {allowed, limit, limit - size, reset, retry}
end
local function shift(s, now, points)
  local size = prune(s, now)
  if points > 0 then push(s, now, min(points, limit)) else s[3] = max(0, size + points) end
end
`,
};

/** The block around every algorithm (as SlotAlgorithm), then for each key: load, decide, store, reply. */
const DISPATCH = `
local function refused(d, ms)
  return {false, d[2], 0, max(d[4], ms), max(d[5], ms)}
end
local function peek(s, now)
  if now < s[1] then return refused(evaluate(s, now, 1, false), s[1] - now) end
  return evaluate(s, now, 1, false)
end

local format = '<' .. string.rep('d', slots)
local function decide(key, op, n)
  local raw = redis.call('GET', key)
  local s
  if raw then
    s = {struct.unpack(format, raw)}
    s[slots + 1] = nil
  else
    s = {}
    for i = 1, slots do s[i] = 0 end
  end
  local d
  local changed = true
  if op == 'c' then
    if now < s[1] then
      d = refused(evaluate(s, now, n, false), s[1] - now)
      changed = false
    else
      d = evaluate(s, now, n, true)
      if not d[1] then
        changed = block > 0
        if changed then
          s[1] = now + block
          d = refused(d, block)
        end
      end
    end
  elseif op == 'a' then
    shift(s, now, n)
    d = peek(s, now)
  else
    d = peek(s, now)
    changed = false
  end
  if changed then redis.call('SET', key, struct.pack(format, unpack(s)), 'PX', ttl) end
  return d
end

local reply = {}
for i = 1, #KEYS do
  local d = decide(KEYS[i], ARGV[a + 5 + 2 * i], tonumber(ARGV[a + 6 + 2 * i]))
  local o = 5 * (i - 1)
  if d[1] then reply[o + 1] = 1 else reply[o + 1] = 0 end
  for j = 2, 5 do reply[o + j] = d[j] end
end
return reply
`;

/** The Lua script of `kind`; `timeFromArgument` (tests only) reads `now` from ARGV[1] instead of `TIME`. */
export function luaScript(kind: AlgorithmKind, timeFromArgument = false): string {
  return (timeFromArgument ? ARGUMENT_TIME : REDIS_TIME) + LIMITS + ALGORITHMS[kind] + DISPATCH;
}
