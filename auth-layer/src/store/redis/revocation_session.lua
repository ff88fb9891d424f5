-- Revokes a session of an issuer and tells every instance: KEYS[1] the
-- session's revocation key (prefix .. 'revoked-session:' .. #iss .. ':' ..
-- iss .. ':' .. sid). ARGV: channel, event (JSON), not_before (Unix
-- seconds). The value is the not-before, which only moves forward.
local nbf = tonumber(redis.call('GET', KEYS[1]) or '')
if nbf == nil or nbf < tonumber(ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[3])
end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
