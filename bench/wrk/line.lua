-- POST InfluxDB line protocol for wrk (https://github.com/wg/wrk): the same
-- workload as metrics.lua, one line per metric, to a /write URL.
--
--   wrk -t1 -c64 -d10s -s bench/wrk/line.lua 'http://127.0.0.1:8080/write?precision=ms' -- [metrics] [client]
--
-- metrics: lines per request (default 10); client: the client id sent as
-- "Authorization: Bearer <client>" (default client-1). Each line is
--
--   <name>,host=server-N,region=R[,<tag>=<v>] value=V <unix ms>
--
-- so a server that names a single "value" field after the measurement
-- (MetricStream; VictoriaMetrics with -influxSkipSingleField) stores the
-- names metrics.lua sends. The URL must carry precision=ms. Each thread
-- pre-builds 256 requests in init(), so request() only returns one of them.
-- Nothing is printed per request; done() prints the error counts and the
-- latency percentiles (common.lua).

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
    ["Content-Type"] = "text/plain; charset=utf-8",
    ["Authorization"] = "Bearer " .. client,
  }
  local now_ms = os.time() * 1000
  for i = 1, 256 do
    pool[i] = wrk.format("POST", nil, headers, W.line_batch(n, now_ms))
  end
end

function request()
  idx = idx % #pool + 1
  return pool[idx]
end

done = common.done
