-- What the wrk scripts share: done(), which prints the error counts and the
-- latency percentiles wrk's --latency leaves out. wrk's histogram records
-- every request in microseconds; latency:percentile(p) reads it.
--
-- Output, one line each:
--
--   errors: non-2xx/3xx 0, connect 0, read 0, write 0, timeout 0
--   latency percentile 99.99: 4123 us
--
-- bench/loadtest parses the percentile lines (ParseWrk).

local M = {}

-- M.percentiles are printed by done(): p50 to p99.99, enough points for a
-- percentile curve on a log scale of 1/(1-p).
M.percentiles = { 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99 }

function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("errors: non-2xx/3xx %d, connect %d, read %d, write %d, timeout %d\n",
    e.status, e.connect, e.read, e.write, e.timeout))
  for _, p in ipairs(M.percentiles) do
    io.write(string.format("latency percentile %g: %d us\n", p, latency:percentile(p)))
  end
end

return M
