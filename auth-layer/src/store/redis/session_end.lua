-- Ends a session: KEYS[1] the session hash. ARGV: reason, now.
-- Answers {status, sub, claims, ver, created_at, expires_at, last_used_at,
-- ended, dpop_jkt, idle_timeout} with status ended (by this call, or by the same call run again:
-- same reason, same time) or already, or {"unknown"}.
local f = redis.call('HMGET', KEYS[1], 'sub', 'claims', 'ver', 'created_at', 'expires_at',
  'last_used_at', 'ended', 'ended_at', 'dpop_jkt', 'idle_timeout')
if not f[1] then
  return {'unknown'}
end
local status = 'already'
if not f[7] then
  redis.call('HSET', KEYS[1], 'ended', ARGV[1], 'ended_at', ARGV[2])
  f[7] = ARGV[1]
  status = 'ended'
elseif f[7] == ARGV[1] and f[8] == ARGV[2] then
  status = 'ended'
end
return {status, f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[9] or '', f[10] or ''}
