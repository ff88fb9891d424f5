-- Logs a subject of an issuer out everywhere and tells every instance:
-- KEYS[1] the subject's hash (prefix .. 'subject:' .. #iss .. ':' .. iss ..
-- ':' .. sub). ARGV: channel, event (JSON), seen (the version the caller
-- read just before), not_before (Unix seconds).
-- The version is raised while it is still `seen`; once it has moved on (a
-- concurrent revocation, or this one sent again after its answer was lost)
-- it stays, so a revocation never counts twice. The not-before only moves
-- forward. Answers {version, not_before}. Write and publish happen together.
local version = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
if version <= tonumber(ARGV[3]) then
  version = redis.call('HINCRBY', KEYS[1], 'ver', 1)
end
local nbf = tonumber(redis.call('HGET', KEYS[1], 'nbf') or '')
local wanted = tonumber(ARGV[4])
if nbf == nil or nbf < wanted then
  nbf = wanted
  redis.call('HSET', KEYS[1], 'nbf', nbf)
end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return {version, nbf}
