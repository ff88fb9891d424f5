-- Creates a session: KEYS[1] the session hash, KEYS[2] the subject's set of
-- session ids. ARGV: sid, sub, claims, ver, created_at, expires_at,
-- last_used_at, token (hex SHA-256 of the refresh token), ttl (seconds).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('session id already in use')
end
redis.call('HSET', KEYS[1], 'sub', ARGV[2], 'claims', ARGV[3], 'ver', ARGV[4],
  'created_at', ARGV[5], 'expires_at', ARGV[6], 'last_used_at', ARGV[7], 'token', ARGV[8])
local ttl = tonumber(ARGV[9])
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('TTL', KEYS[2]) < ttl then
  redis.call('EXPIRE', KEYS[2], ttl)
end
return 1
