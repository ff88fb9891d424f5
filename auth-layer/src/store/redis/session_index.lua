-- Adds a session id to its subject's set, before the session itself is
-- created (so "log out everywhere" finds every session that may exist):
-- KEYS[1] the set (prefix .. 'sessions:' .. sub). ARGV: sid, ttl (seconds).
-- The set lives as long as its longest-lived session.
local ttl = tonumber(ARGV[2])
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < ttl then
  redis.call('EXPIRE', KEYS[1], ttl)
end
return 1
