-- Revokes a session of an issuer and tells every instance: KEYS[1] the
-- session's revocation key (prefix .. 'revoked-session:' .. #iss .. ':' ..
-- iss .. ':' .. sid). ARGV: channel, event (JSON), not_before (Unix
-- seconds), ttl (seconds; empty: keep for good). The value is the
-- not-before, which only moves forward. A key kept for good stays so; a key
-- with an expiry keeps the later one, or none when revoked for good.
local left = redis.call('TTL', KEYS[1])
local nbf = tonumber(redis.call('GET', KEYS[1]) or '')
if nbf == nil or nbf < tonumber(ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[3], 'KEEPTTL')
end
local ttl = tonumber(ARGV[4] or '')
if ttl == nil then
  redis.call('PERSIST', KEYS[1])
elseif left == -2 or (left >= 0 and left < ttl) then
  redis.call('EXPIRE', KEYS[1], ttl)
end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
