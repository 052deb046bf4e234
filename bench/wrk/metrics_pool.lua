-- POST /metrics with realistic batches and a pool of client ids, rotated
-- per request, for wrk (https://github.com/wg/wrk).
--
--   wrk -t2 -c64 -d10s -s bench/wrk/metrics_pool.lua http://127.0.0.1:8080/metrics -- [clients] [metrics]
--
-- clients: size of the pool, ids client-1 .. client-N (default 100);
-- metrics: metrics per batch (default 10). Each thread pre-builds 256
-- bodies and one Authorization line per client id in init(); request()
-- only concatenates three strings. Every thread cycles through all ids,
-- each from a different offset. Nothing is printed per request; done()
-- prints the error counts.

local names = {
  { "cpu_usage", "gauge", 0, 100 }, { "mem_bytes", "gauge", 268435456, 34359738368 },
  { "load_avg_1m", "gauge", 0, 16 }, { "disk_used_percent", "gauge", 1, 99 },
  { "temperature_celsius", "gauge", 20, 95 }, { "queue_depth", "gauge", 0, 5000 },
  { "http_request_duration_ms", "gauge", 0.2, 900 },
  { "http_requests_total", "counter", 1e6, 5e5 }, { "http_errors_total", "counter", 1e3, 5e3 },
  { "disk_io_ops", "counter", 1e7, 3e6 }, { "net_rx_bytes", "counter", 1e10, 1e9 },
  { "net_tx_bytes", "counter", 1e10, 1e9 },
}
local regions = { "eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-south-1", "ap-northeast-1" }
local services = { "api", "auth", "billing", "search", "ingest" }

local function batch(n, now_ms)
  local parts = {}
  for i = 1, n do
    local k = names[math.random(#names)]
    local host = math.random(0, 199)
    local value
    if k[2] == "counter" then
      value = string.format("%d", k[3] + math.random(0, k[4]))
    else
      value = string.format("%.2f", k[3] + math.random() * (k[4] - k[3]))
    end
    parts[i] = string.format(
      '{"name":"%s","value":%s,"type":"%s","tags":{"host":"server-%d","region":"%s","service":"%s"},"timestamp":%d}',
      k[1], value, k[2], host, regions[host % #regions + 1], services[math.random(#services)],
      now_ms - math.random(0, 9999))
  end
  return '{"metrics":[' .. table.concat(parts, ",") .. ']}'
end

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
    local body = batch(n, now_ms)
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

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("errors: non-2xx/3xx %d, connect %d, read %d, write %d, timeout %d\n",
    e.status, e.connect, e.read, e.write, e.timeout))
end
