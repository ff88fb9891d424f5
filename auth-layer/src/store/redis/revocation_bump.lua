-- Bumps a subject's token version and tells every instance: KEYS[1] the
-- version key (prefix .. 'ver:' .. sub). ARGV: channel, event (JSON).
-- Answers the new version. Write and publish happen together or not at all.
local version = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return version
