-- wrk script of `python -m bench.load --wrk`: sends `Authorization: Bearer $WRK_TOKEN` when that variable is set,
-- and prints the run's figures as one JSON line, which bench.load reads (latencies in microseconds).
--   WRK_TOKEN=<token> wrk -t1 -c64 -d30s -s bench/wrk_auth.lua http://127.0.0.1:<port>/api/v1/predictions/next-race

local token = os.getenv("WRK_TOKEN")
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx_3xx": %d, "socket_errors": %d, '
      .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, errors.status, errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max
  ))
end
