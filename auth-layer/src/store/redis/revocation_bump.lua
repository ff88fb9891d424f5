-- Bumps a subject's token version past the one the caller read, and tells
-- every instance: KEYS[1] the version key (prefix .. 'ver:' .. sub). ARGV:
-- channel, event (JSON), seen (the version the caller read just before).
-- While the version is still `seen` it is raised with INCR; once it has
-- moved on (a concurrent bump, or this same bump sent again after its answer
-- was lost) it stays, so a bump never counts twice. Answers the version,
-- which is above `seen` either way. Write and publish happen together.
local version = tonumber(redis.call('GET', KEYS[1]) or '0')
if version <= tonumber(ARGV[3]) then
  version = redis.call('INCR', KEYS[1])
end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return version
