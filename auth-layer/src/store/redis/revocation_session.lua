-- Revokes a session and tells every instance: KEYS[1] the session's
-- revocation key (prefix .. 'sid:' .. sid). ARGV: channel, event (JSON),
-- now (Unix seconds). Revoking again keeps the first time.
redis.call('SET', KEYS[1], ARGV[3], 'NX')
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
