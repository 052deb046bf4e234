-- POST /metrics with realistic batches and a pool of client ids, rotated
-- per request, for wrk (https://github.com/wg/wrk).
--
--   wrk -t2 -c64 -d10s -s bench/wrk/metrics_pool.lua http://127.0.0.1:8080/metrics -- [clients] [metrics]
--
-- clients: size of the pool, ids client-1 .. client-N (default 100);
-- metrics: metrics per batch (default 10). Each thread pre-builds 256
-- bodies and one Authorization line per client id in init(); request()
-- only concatenates three strings. Every thread cycles through all ids,
-- each from a different offset. The batches come from workload.lua,
-- generated from bench/workload.go. Nothing is printed per request; done()
-- prints the error counts and the latency percentiles (common.lua).

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local W = dofile(here .. "workload.lua")
local common = dofile(here .. "common.lua")

local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

local prefix
local auth = {}
local tails = {}
local seq = 0

function init(args)
  local clients = tonumber(args[1]) or 100
  local n = tonumber(args[2]) or 10
  math.randomseed(os.time() + (id or 0) * 7919)
  local host = wrk.headers["Host"] or (wrk.host .. ":" .. wrk.port)
  prefix = "POST " .. wrk.path .. " HTTP/1.1\r\nHost: " .. host .. "\r\nContent-Type: application/json\r\n"
  for c = 1, clients do
    auth[c] = "Authorization: Bearer client-" .. c .. "\r\n"
  end
  local now_ms = os.time() * 1000
  for i = 1, 256 do
    local body = W.json_batch(n, now_ms)
    tails[i] = "Content-Length: " .. #body .. "\r\n\r\n" .. body
  end
  -- init runs in each thread's own Lua state right after setup(): the
  -- thread count is not known yet, so threads differ by offset only.
  seq = (id or 0) * 7919
end

function request()
  local r = prefix .. auth[seq % #auth + 1] .. tails[seq % #tails + 1]
  seq = seq + 1
  return r
end

done = common.done
