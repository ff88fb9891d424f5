-- The store's continuity marker: KEYS[1] (prefix .. 'marker'). Answers the
-- second (Unix, the server's clock) the revocation data began, writing it
-- first when it is missing (a new, flushed or restarted-empty Redis).
local marker = redis.call('GET', KEYS[1])
if not marker then
  marker = redis.call('TIME')[1]
  redis.call('SET', KEYS[1], marker)
end
return tonumber(marker)
