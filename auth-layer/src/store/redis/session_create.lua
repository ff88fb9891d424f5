-- Creates a session: KEYS[1] the session hash (prefix .. 'session:' .. sid).
-- ARGV: sub, claims, ver, created_at, expires_at, last_used_at, token (hex
-- SHA-256 of the refresh token), ttl (seconds), dpop_jkt (the thumbprint of
-- the DPoP key the session is bound to, or empty: no field is written),
-- idle_timeout (seconds, or empty: no field is written). Creating the same session
-- with the same token again (a retry whose first answer was lost) is a
-- success; any other existing session is an error.
local token = redis.call('HGET', KEYS[1], 'token')
if token then
  if token == ARGV[7] then
    return 1
  end
  return redis.error_reply('session id already in use')
end
redis.call('HSET', KEYS[1], 'sub', ARGV[1], 'claims', ARGV[2], 'ver', ARGV[3],
  'created_at', ARGV[4], 'expires_at', ARGV[5], 'last_used_at', ARGV[6], 'token', ARGV[7])
if ARGV[9] ~= '' then
  redis.call('HSET', KEYS[1], 'dpop_jkt', ARGV[9])
end
if ARGV[10] and ARGV[10] ~= '' then
  redis.call('HSET', KEYS[1], 'idle_timeout', ARGV[10])
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[8]))
return 1
