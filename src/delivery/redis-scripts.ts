/**
 * Lua scripts run atomically by Redis. Each one keeps a user's counter, stream, notification
 * and the run's lease consistent in one step, so no node can see half of an append.
 * Times come from Redis (`TIME`), so node clocks never decide whether a lease expired.
 */

const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * The epoch in the same atomic step as the command: a Redis that lost its data has no epoch
 * key, so the first script to run after it returned creates a new one (ARGV candidate), and
 * every answer names the epoch its seqs belong to — a node learns of a new history from the
 * very command that reveals it, never later than the events of that history.
 */
const EPOCH = (key: string, candidate: string) => `redis.call('SET', ${key}, ${candidate}, 'NX')
local epoch = redis.call('GET', ${key})`;

/**
 * KEYS: seq, stream, leases, run's applied-appends hash, epoch.
 * ARGV: maxlen, event json (no seq), channel, lease member, kind (start|step|end),
 *       leaseMs, append id, retainMs, epoch candidate.
 * Returns { seq, epoch }; the notification is "<seq> <epoch> <json>". Idempotent per append id (a command resent after a reconnect is not
 * appended twice). Fenced: a run whose lease is gone (ended as node_lost) cannot append.
 */
export const APPEND = `
${EPOCH('KEYS[5]', 'ARGV[9]')}
local applied = redis.call('HGET', KEYS[4], ARGV[7])
if applied then return { tonumber(applied), epoch } end
local kind = ARGV[5]
if kind ~= 'start' and not redis.call('ZSCORE', KEYS[3], ARGV[4]) then
  return redis.error_reply('LEASE_LOST the run lease expired and the run was ended with node_lost')
end
${NOW_MS}
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[1], seq .. '-1', 'e', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[8])
redis.call('HSET', KEYS[4], ARGV[7], seq)
redis.call('PEXPIRE', KEYS[4], ARGV[8])
if kind == 'start' then
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), ARGV[4])
elseif kind == 'end' then
  redis.call('ZREM', KEYS[3], ARGV[4])
end
redis.call('PUBLISH', ARGV[3], seq .. ' ' .. epoch .. ' ' .. ARGV[2])
return { seq, epoch }`;

/**
 * KEYS: seq, stream, epoch. ARGV: first seq wanted (afterSeq + 1), epoch candidate.
 * Returns { lastSeq, entries, epoch } read in one step.
 */
export const READ_AFTER = `
${EPOCH('KEYS[3]', 'ARGV[2]')}
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > last + 1 then return { last, {}, epoch } end
return { last, redis.call('XRANGE', KEYS[2], ARGV[1], '+'), epoch }`;

/**
 * KEYS: message key. ARGV: run id, retainMs.
 * Returns nil when the message id is new (recorded now), else the run id it started.
 */
export const RECORD_MESSAGE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
return redis.call('GET', KEYS[1])`;

/**
 * KEYS: leases. ARGV: leaseMs, members…  Extends each lease still held; returns the members
 * whose lease is gone (another node ended the run as node_lost).
 */
export const RENEW_LEASES = `
${NOW_MS}
local lost = {}
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i])
  else
    table.insert(lost, ARGV[i])
  end
end
return lost`;

/**
 * KEYS: leases. ARGV: key prefix, maxlen, retainMs.
 * Claims up to 100 expired leases and, in the same step, appends the run's final
 * \`agent_error { reason: node_lost }\`: a run is ended exactly once, by exactly one node.
 * Lease members are "<runId>\\n<userId>". Returns the number of runs ended.
 */
export const SWEEP_EXPIRED = `
${NOW_MS}
local epoch = redis.call('GET', ARGV[1] .. 'epoch') or ''
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 100)
for _, member in ipairs(expired) do
  redis.call('ZREM', KEYS[1], member)
  local cut = string.find(member, '\\n', 1, true)
  local runId = string.sub(member, 1, cut - 1)
  local userId = string.sub(member, cut + 1)
  local seq = redis.call('INCR', ARGV[1] .. 'seq:' .. userId)
  local json = cjson.encode({ runId = runId, event = 'agent_error', ts = now,
    data = { reason = 'node_lost', message = 'the node running this run stopped renewing its lease' } })
  local stream = ARGV[1] .. 'stream:' .. userId
  redis.call('XADD', stream, 'MAXLEN', ARGV[2], seq .. '-1', 'e', json)
  redis.call('PEXPIRE', stream, ARGV[3])
  redis.call('PUBLISH', ARGV[1] .. 'events:' .. userId, seq .. ' ' .. epoch .. ' ' .. json)
end
return #expired`;
