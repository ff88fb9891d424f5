-- Rotates a refresh token atomically: KEYS[1] the session hash.
-- ARGV: presented (hex), next (hex), now, idle timeout, grace, min version,
-- retry window, claims (a JSON object, or empty to keep them), spent tokens
-- kept. Answers {status, sub, claims, ver, created_at, expires_at,
-- last_used_at, ended, dpop_jkt, idle_timeout} with status rotated, duplicate, reused, ended,
-- expired, idle, version_bumped or retried, or {"unknown"}. The same decision table
-- as RotateOutcome's documentation. Running the same rotation again within
-- the retry window (at least the second of the rotation: a retry whose
-- first answer was lost, presented is the last spent token and next is
-- current) writes nothing and answers retried, or why the session
-- cannot refresh any more; with another next (successors derived
-- differently elsewhere), it answers {"mismatch"}. A rotation keeps the token it spends and the
-- most recently spent others, as many as ARGV[9] in all.
local key = KEYS[1]
local f = redis.call('HMGET', key, 'sub', 'claims', 'ver', 'created_at', 'expires_at',
  'last_used_at', 'ended', 'token', 'prev', 'dpop_jkt', 'idle_timeout')
if not f[1] then
  return {'unknown'}
end
local presented, now = ARGV[1], tonumber(ARGV[3])

local function answer(status)
  return {status, f[1], f[2], f[3], f[4], f[5], f[6], f[7] or '', f[10] or '', f[11] or ''}
end

local function refusal()
  if f[7] then return 'ended' end
  if now >= tonumber(f[5]) then return 'expired' end
  if now >= tonumber(f[6]) + tonumber(ARGV[4]) then return 'idle' end
  if tonumber(f[3]) < tonumber(ARGV[6]) then return 'version_bumped' end
  return nil
end

if f[9] == presented and f[8] == ARGV[2] then
  local at = tonumber(redis.call('HGET', key, 'spent:' .. presented) or '')
  if at and now < at + math.max(tonumber(ARGV[7]), 1) then
    local refused = refusal()
    if refused then return answer(refused) end
    return answer('retried')
  end
end

if f[8] == presented then
  local refused = refusal()
  if refused then return answer(refused) end
  redis.call('HSET', key, 'token', ARGV[2], 'prev', presented, 'spent:' .. presented, ARGV[3],
    'last_used_at', ARGV[3])
  if ARGV[8] ~= '' then
    redis.call('HSET', key, 'claims', ARGV[8])
    f[2] = ARGV[8]
  end
  local others = {}
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local name = all[i]
    if string.sub(name, 1, 6) == 'spent:' and name ~= 'spent:' .. presented then
      others[#others + 1] = {name, tonumber(all[i + 1]) or 0}
    end
  end
  local keep = tonumber(ARGV[9]) - 1
  if #others > keep then
    table.sort(others, function(a, b)
      if a[2] ~= b[2] then return a[2] > b[2] end
      return a[1] < b[1]
    end)
    for i = keep + 1, #others do
      redis.call('HDEL', key, others[i][1])
    end
  end
  f[6] = ARGV[3]
  return answer('rotated')
end

local spent_at = redis.call('HGET', key, 'spent:' .. presented)
if not spent_at then
  return {'unknown'}
end
local grace = tonumber(ARGV[5])
if not f[7] and f[9] == presented and grace > 0 and now < tonumber(spent_at) + grace then
  local refused = refusal()
  if refused then return answer(refused) end
  return answer('duplicate')
end
-- The latest spent token within the retry window, with another successor
-- than the current one: instances derive different successors (a
-- configuration, never a client, causes this). Refused as unknown; nothing
-- is written, the session lives.
local retry = tonumber(ARGV[7])
if not f[7] and f[9] == presented and retry > 0 and now < tonumber(spent_at) + retry then
  return {'mismatch'}
end
if not f[7] then
  redis.call('HSET', key, 'ended', 'reuse', 'ended_at', ARGV[3])
  f[7] = 'reuse'
end
return answer('reused')
