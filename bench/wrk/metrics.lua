-- POST /metrics with realistic batches for wrk (https://github.com/wg/wrk).
--
--   wrk -t2 -c64 -d10s -s bench/wrk/metrics.lua http://127.0.0.1:8080/metrics -- [metrics] [client]
--
-- metrics: metrics per batch (default 10); client: the client id sent as
-- "Authorization: Bearer <client>" (default client-1). The batches come from
-- workload.lua, generated from bench/workload.go (the workload loadgen
-- sends). Each thread pre-builds 256 requests in init(), so request() only
-- returns one of them. Nothing is printed per request; done() prints the
-- error counts and the latency percentiles (common.lua).

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local W = dofile(here .. "workload.lua")
local common = dofile(here .. "common.lua")

local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

local pool = {}
local idx = 0

function init(args)
  local n = tonumber(args[1]) or 10
  local client = args[2] or "client-1"
  math.randomseed(os.time() + (id or 0) * 7919)
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. client,
  }
  local now_ms = os.time() * 1000
  for i = 1, 256 do
    pool[i] = wrk.format("POST", nil, headers, W.json_batch(n, now_ms))
  end
end

function request()
  idx = idx % #pool + 1
  return pool[idx]
end

done = common.done
