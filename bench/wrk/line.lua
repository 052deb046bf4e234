-- POST InfluxDB line protocol for wrk (https://github.com/wg/wrk): the same
-- samples as metrics.lua, one line per metric, to a /write URL.
--
--   wrk -t1 -c64 -d10s -s bench/wrk/line.lua 'http://127.0.0.1:8080/write?precision=ms' -- [metrics] [client]
--
-- metrics: lines per request (default 10); client: the client id sent as
-- "Authorization: Bearer <client>" (default client-1). Each line is
--
--   <name>,host=server-N,region=R,service=S value=V <unix ms>
--
-- so a server that names a single "value" field after the measurement
-- (MetricStream; VictoriaMetrics with -influxSkipSingleField) stores the
-- names metrics.lua sends. The URL must carry precision=ms. Each thread
-- pre-builds 256 requests in init(), so request() only returns one of them.
-- Nothing is printed per request; done() prints the error counts.

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
  local lines = {}
  for i = 1, n do
    local k = names[math.random(#names)]
    local host = math.random(0, 199)
    local value
    if k[2] == "counter" then
      value = string.format("%d", k[3] + math.random(0, k[4]))
    else
      value = string.format("%.2f", k[3] + math.random() * (k[4] - k[3]))
    end
    lines[i] = string.format("%s,host=server-%d,region=%s,service=%s value=%s %d",
      k[1], host, regions[host % #regions + 1], services[math.random(#services)], value,
      now_ms - math.random(0, 9999))
  end
  return table.concat(lines, "\n") .. "\n"
end

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
    pool[i] = wrk.format("POST", nil, headers, batch(n, now_ms))
  end
end

function request()
  idx = idx % #pool + 1
  return pool[idx]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("errors: non-2xx/3xx %d, connect %d, read %d, write %d, timeout %d\n",
    e.status, e.connect, e.read, e.write, e.timeout))
end
