-- Logs a subject of an issuer out everywhere and tells every instance:
-- KEYS[1] the subject's hash (prefix .. 'subject:' .. #iss .. ':' .. iss ..
-- ':' .. sub). ARGV: channel, event (JSON), revocation id (random, one per
-- revocation), not_before (Unix seconds).
-- The version is raised unless this revocation was the last one applied
-- (the same revocation sent again after its answer was lost counts once;
-- two revocations, even at the same moment, raise it twice). The
-- not-before only moves forward. Answers {version, not_before}. Write and
-- publish happen together.
local version
if redis.call('HGET', KEYS[1], 'rev') ~= ARGV[3] then
  version = redis.call('HINCRBY', KEYS[1], 'ver', 1)
  redis.call('HSET', KEYS[1], 'rev', ARGV[3])
else
  version = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
end
local nbf = tonumber(redis.call('HGET', KEYS[1], 'nbf') or '')
local wanted = tonumber(ARGV[4])
if nbf == nil or nbf < wanted then
  nbf = wanted
  redis.call('HSET', KEYS[1], 'nbf', nbf)
end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return {version, nbf}
