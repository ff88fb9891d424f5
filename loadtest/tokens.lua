-- wrk script: every request carries `Authorization: Bearer <token>`,
-- rotating over the server's hot tokens; with COLD_EVERY > 0, every
-- COLD_EVERY-th request instead takes the next unused cold token
-- (a subject the revocation cache has not seen) from COLD_OFFSET on.
--
--   wrk ... -s tokens.lua URL -- DIR COLD_EVERY COLD_OFFSET [PROOF_OFFSET PROOF_COUNT MODE]
--
-- DIR holds hot.txt and cold.txt as written by the loadtest server.
-- With PROOF_COUNT > 0 (DPoP), DIR also holds proofs.txt (`TOKEN_LINE
-- PROOF` a line): every request then carries `Authorization: DPoP <token>`
-- and `DPoP: <proof>`, taking PROOF_COUNT proofs from line PROOF_OFFSET
-- on, each once (MODE `once`), or the first of them every time (MODE
-- `reuse`, for the bare route, which ignores it but gets the same bytes).
-- Running out of proofs counts as a missing cold token.
-- Prints one machine-readable RESULT line when done. Run wrk with -t1:
-- cold tokens are counted per thread.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local function read(path)
  local tokens = {}
  local file = io.open(path, "r")
  if file == nil then
    return tokens
  end
  for line in file:lines() do
    if line ~= "" then
      table.insert(tokens, line)
    end
  end
  file:close()
  return tokens
end

local hot_requests = {}
local cold = {}
local cold_every = 0
local cold_next = 0
local n = 0
local h = 0
local proofs = {}
local proof_next = 0
local proof_reuse = false
cold_used = 0
cold_exhausted = 0

function init(args)
  local dir = args[1]
  cold_every = tonumber(args[2] or "0")
  cold_next = tonumber(args[3] or "0")
  for _, token in ipairs(read(dir .. "/hot.txt")) do
    table.insert(hot_requests, wrk.format(nil, nil, { Authorization = "Bearer " .. token }))
  end
  if #hot_requests == 0 then
    error("no hot tokens in " .. dir .. "/hot.txt")
  end
  if cold_every > 0 then
    cold = read(dir .. "/cold.txt")
  end
  local proof_offset = tonumber(args[4] or "0")
  local proof_count = tonumber(args[5] or "0")
  proof_reuse = (args[6] == "reuse")
  if proof_count > 0 then
    local tokens = read(dir .. "/hot.txt")
    local file = io.open(dir .. "/proofs.txt", "r")
    if file == nil then
      error("no proofs.txt in " .. dir)
    end
    local line_number = 0
    for line in file:lines() do
      line_number = line_number + 1
      if line_number > proof_offset + proof_count then
        break
      end
      if line_number > proof_offset then
        local index, proof = line:match("^(%d+) (%S+)$")
        table.insert(proofs, wrk.format(nil, nil, {
          Authorization = "DPoP " .. tokens[tonumber(index)],
          DPoP = proof,
        }))
      end
    end
    file:close()
    if #proofs == 0 then
      error("no proofs from line " .. proof_offset .. " of " .. dir .. "/proofs.txt")
    end
  end
end

function request()
  n = n + 1
  if #proofs > 0 then
    if proof_reuse then
      return proofs[1]
    end
    proof_next = proof_next + 1
    local r = proofs[proof_next]
    if r == nil then
      cold_exhausted = cold_exhausted + 1
      return proofs[1]
    end
    return r
  end
  if cold_every > 0 and n % cold_every == 0 then
    cold_next = cold_next + 1
    local token = cold[cold_next]
    if token ~= nil then
      cold_used = cold_used + 1
      return wrk.format(nil, nil, { Authorization = "Bearer " .. token })
    end
    cold_exhausted = cold_exhausted + 1
  end
  h = h % #hot_requests + 1
  return hot_requests[h]
end

function done(summary, latency, requests)
  local used, exhausted = 0, 0
  for _, thread in ipairs(threads) do
    used = used + thread:get("cold_used")
    exhausted = exhausted + thread:get("cold_exhausted")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d socket_errors=%d non2xx=%d cold=%d cold_exhausted=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status, used, exhausted))
end
