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
 * Appends one entry to a user's stream and trims the stream's oldest entries while it holds
 * more than `maxlen` entries or more than `maxBytes` bytes (the UTF-8 length of the entry's
 * field values as stored: an event's JSON, or a delta chunk's fields); the entry just appended
 * always stays, however large. `replaced`, when given, is the stream's newest entry, which the
 * new one supersedes (a delta chunk extended by one delta: deleted, and re-added under the new
 * last seq). The byte total lives in its own key beside the stream, with the same TTL, so both
 * vanish together; a total that is missing while the stream exists (written before byte
 * retention existed) is recounted once from the entries. Trimming is XTRIM MINID on the seq
 * ids: exact, and a read past a trimmed seq sees the hole (readAfter then answers "gap",
 * exactly as for the count bound).
 */
const APPEND_TRIMMED = `local function fieldBytes(fields)
  local n = 0
  for i = 2, #fields, 2 do n = n + string.len(fields[i]) end
  return n
end
local function entryBytes(entry) return fieldBytes(entry[2]) end
local function appendTrimmed(stream, bytesKey, seq, fields, maxlen, maxBytes, ttl, replaced)
  local bytes = 0
  if redis.call('EXISTS', stream) == 1 then
    local counted = redis.call('GET', bytesKey)
    if counted then
      bytes = tonumber(counted)
    else
      for _, entry in ipairs(redis.call('XRANGE', stream, '-', '+')) do bytes = bytes + entryBytes(entry) end
    end
  end
  if replaced then
    redis.call('XDEL', stream, replaced[1])
    bytes = bytes - entryBytes(replaced)
  end
  redis.call('XADD', stream, seq .. '-1', unpack(fields))
  bytes = bytes + fieldBytes(fields)
  local len = redis.call('XLEN', stream)
  local cut = nil
  while len > 1 and (len > maxlen or bytes > maxBytes) do
    local oldest = redis.call('XRANGE', stream, cut and ('(' .. cut) or '-', '+', 'COUNT', 1)[1]
    bytes = bytes - entryBytes(oldest)
    len = len - 1
    cut = oldest[1]
  end
  -- Ids are "<seq>-1": MINID "<seq>-2" drops every entry up to and including the cut one.
  if cut then redis.call('XTRIM', stream, 'MINID', string.match(cut, '^%d+') .. '-2') end
  redis.call('PEXPIRE', stream, ttl)
  redis.call('SET', bytesKey, bytes, 'PX', ttl)
end`;

/**
 * The fields of the entry a delta is stored in. A delta (coalescing key `key` non-empty) joins
 * the stream's newest entry when that is a chunk of the same key ending at `seq - 1` with room
 * left (fewer than `maxDeltas` deltas, at most `maxBytes` bytes of text with it); else it
 * starts a chunk. A chunk's fields: `e` its first event's JSON, `k` the key, `d` the deltas'
 * JSON-escaped texts concatenated (escaped so a lone surrogate survives UTF-8), `l` their
 * lengths in UTF-16 units, comma-separated, `n` how many, `f` the first delta's ts and `z` each
 * delta's ts less `f`, comma-separated (so every delta reads back with its own ts). Its id is
 * its last seq. Returns the fields and the entry they replace (or nil).
 */
const DELTA_FIELDS = `local function deltaFields(stream, seq, json, key, piece, pieceLength, ts, maxBytes, maxDeltas)
  if key == '' then return { 'e', json }, nil end
  local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)[1]
  if last and tonumber(string.match(last[1], '^%d+')) == seq - 1 then
    local f = {}
    for i = 1, #last[2], 2 do f[last[2][i]] = last[2][i + 1] end
    if f.k == key and tonumber(f.n) < maxDeltas and string.len(f.d) + string.len(piece) <= maxBytes then
      local offset = string.format('%d', tonumber(ts) - tonumber(f.f))
      return { 'e', f.e, 'k', key, 'd', f.d .. piece, 'l', f.l .. ',' .. pieceLength, 'n', tostring(tonumber(f.n) + 1), 'f', f.f, 'z', f.z .. ',' .. offset }, last
    end
  end
  return { 'e', json, 'k', key, 'd', piece, 'l', pieceLength, 'n', '1', 'f', ts, 'z', '0' }, nil
end`;

/**
 * KEYS: seq, stream, leases, run's applied-appends hash, epoch, stream bytes.
 * ARGV: maxlen, event json (no seq), channel, lease member, kind (start|step|end),
 *       leaseMs, append id, retainMs, epoch candidate, max stream bytes,
 *       delta coalescing key ('' for an event that is not a delta), the delta's JSON-escaped
 *       text, its length (UTF-16 units), ts, max chunk bytes, max chunk deltas, the tool call id
 *       of an `approval_requested` event ('' otherwise: it is recorded as pending in the run's
 *       hash in the same step, so an answer can never find the request not yet pending).
 * Returns { seq, epoch }; the notification is "<seq> <epoch> <json>". Idempotent per append id (a command resent after a reconnect is not
 * appended twice). Fenced: a run whose lease is gone (ended as node_lost) cannot append.
 */
export const APPEND = `
${APPEND_TRIMMED}
${DELTA_FIELDS}
${EPOCH('KEYS[5]', 'ARGV[9]')}
local applied = redis.call('HGET', KEYS[4], ARGV[7])
if applied then return { tonumber(applied), epoch } end
local kind = ARGV[5]
if kind ~= 'start' and not redis.call('ZSCORE', KEYS[3], ARGV[4]) then
  return redis.error_reply('LEASE_LOST the run lease expired and the run was ended with node_lost')
end
${NOW_MS}
local seq = redis.call('INCR', KEYS[1])
local fields, replaced = deltaFields(KEYS[2], seq, ARGV[2], ARGV[11], ARGV[12], ARGV[13], ARGV[14], tonumber(ARGV[15]), tonumber(ARGV[16]))
appendTrimmed(KEYS[2], KEYS[6], seq, fields, tonumber(ARGV[1]), tonumber(ARGV[10]), ARGV[8], replaced)
redis.call('HSET', KEYS[4], ARGV[7], seq)
if ARGV[17] ~= '' then redis.call('HSET', KEYS[4], 'pending:' .. ARGV[17], '1') end
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
 * KEYS: the user's message runs (hash id → run id), order (sorted set id → accepted at, ms),
 * bytes (string), and every user's index (sorted set "<userId>\\n<id>" → accepted at).
 * ARGV: message id, run id, retainMs, max ids per user, max bytes per user, max ids in total,
 * key prefix, user id.
 * Returns nil when the message id is new (recorded now), else the run id it started.
 *
 * An id's bytes are its length plus its run id's. Before the lookup, the user's ids older than
 * retainMs are forgotten; before recording a new one, the user's oldest ids until one more fits
 * both per-user bounds, then the oldest ids of any user while the index holds more than the
 * total. The per-user keys and the index expire retainMs after the last record.
 */
export const RECORD_MESSAGE = `
${NOW_MS}
local prefix, userId = ARGV[7], ARGV[8]
local ttl = ARGV[3]
local function forget(user, id, runs, order, bytesKey)
  local runId = redis.call('HGET', runs, id)
  if runId then
    redis.call('HDEL', runs, id)
    redis.call('DECRBY', bytesKey, string.len(id) + string.len(runId))
  end
  redis.call('ZREM', order, id)
  redis.call('ZREM', KEYS[4], user .. '\\n' .. id)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ttl))) do
  forget(userId, id, KEYS[1], KEYS[2], KEYS[3])
end
local seen = redis.call('HGET', KEYS[1], ARGV[1])
if seen then return seen end
local size = string.len(ARGV[1]) + string.len(ARGV[2])
local count = redis.call('ZCARD', KEYS[2])
local bytes = tonumber(redis.call('GET', KEYS[3]) or '0')
while count > 0 and (count + 1 > tonumber(ARGV[4]) or bytes + size > tonumber(ARGV[5])) do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  forget(userId, oldest, KEYS[1], KEYS[2], KEYS[3])
  count = count - 1
  bytes = tonumber(redis.call('GET', KEYS[3]) or '0')
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('INCRBY', KEYS[3], size)
redis.call('ZADD', KEYS[4], now, userId .. '\\n' .. ARGV[1])
-- The index: entries past retainMs are dead everywhere (each user forgets them on its next record or by TTL).
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ttl))
local newest = userId .. '\\n' .. ARGV[1]
while redis.call('ZCARD', KEYS[4]) > tonumber(ARGV[6]) do
  -- Oldest first; ids recorded in the same ms tie, and the one just recorded always stays.
  local two = redis.call('ZRANGE', KEYS[4], 0, 1)
  local member = two[1] == newest and two[2] or two[1]
  local cut = string.find(member, '\\n', 1, true)
  local user = string.sub(member, 1, cut - 1)
  forget(user, string.sub(member, cut + 1), prefix .. 'msg-runs:' .. user, prefix .. 'msg-order:' .. user, prefix .. 'msg-bytes:' .. user)
end
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ttl) end
return false`;

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
 * KEYS: leases. ARGV: key prefix, maxlen, retainMs, max stream bytes.
 * Claims up to 100 expired leases and, in the same step, appends the run's final
 * \`agent_error { reason: node_lost }\`: a run is ended exactly once, by exactly one node.
 * Lease members are "<runId>\\n<userId>". Returns the number of runs ended.
 */
export const SWEEP_EXPIRED = `
${APPEND_TRIMMED}
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
  appendTrimmed(ARGV[1] .. 'stream:' .. userId, ARGV[1] .. 'stream-bytes:' .. userId, seq, { 'e', json }, tonumber(ARGV[2]), tonumber(ARGV[4]), ARGV[3], nil)
  redis.call('PUBLISH', ARGV[1] .. 'events:' .. userId, seq .. ' ' .. epoch .. ' ' .. json)
end
return #expired`;

/**
 * KEYS: leases, the run's hash. ARGV: lease member ("<runId>\\n<userId>"), control channel, run id.
 * A cancel from any node: when the run is open (its lease held) for this user, marks it
 * cancelled in its hash and tells every node (the owner stops it). Returns 1, or 0 when there
 * is no open run of that user with that id.
 */
export const CANCEL_RUN = `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], 'cancel', '1')
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`;

/**
 * KEYS: leases, the run's hash. ARGV: lease member, tool call id, answer JSON, control channel, run id.
 * The first answer to a pending approval wins, whichever node it reaches (a user's, or the
 * owner's timeout). Returns { 1, answer } when this claim won, { 0, the winning answer } when
 * another won first, or false when nothing is pending (never asked, the run ended, not this
 * user's run).
 */
export const CLAIM_ANSWER = `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return false end
if redis.call('HGET', KEYS[2], 'pending:' .. ARGV[2]) ~= '1' then return false end
if redis.call('HSETNX', KEYS[2], 'answer:' .. ARGV[2], ARGV[3]) == 1 then
  redis.call('PUBLISH', ARGV[4], ARGV[5])
  return { 1, ARGV[3] }
end
return { 0, redis.call('HGET', KEYS[2], 'answer:' .. ARGV[2]) }`;
