-- Denies a token id until its token expires and tells every instance:
-- KEYS[1] the denial key (prefix .. 'denied-jti:' .. #iss .. ':' .. iss .. ':' .. jti). ARGV: channel, event
-- (JSON), expiry (Unix milliseconds; 0 when the token has already expired,
-- and then nothing is stored). Denying again keeps the later expiry, and a
-- denial written without expiry stays.
local expiry = tonumber(ARGV[3])
if expiry > 0 then
  local left = redis.call('PTTL', KEYS[1])
  local time = redis.call('TIME')
  local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  if left == -2 or (left >= 0 and now + left < expiry) then
    redis.call('SET', KEYS[1], 1)
    redis.call('PEXPIREAT', KEYS[1], expiry)
  end
end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
