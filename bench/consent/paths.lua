-- wrk script of the consent benchmark: each request takes a random path (a random
-- subject) from the file given after "--", with the optional Authorization header.
--
--   wrk -t1 -c8 -d10s -s bench/consent/paths.lua http://127.0.0.1:8000 -- paths.txt "Bearer dv_..."
--
-- done() prints one line "WRK_JSON {...}" with requests, errors and latency
-- percentiles in milliseconds, which bench/consent/run.py reads.

local paths = {}

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      paths[#paths + 1] = line
    end
  end
  if args[2] and #args[2] > 0 then
    wrk.headers["Authorization"] = args[2]
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_s": %.3f, "errors_connect": %d, "errors_read": %d, ' ..
    '"errors_write": %d, "errors_status": %d, "errors_timeout": %d, "p50_ms": %.3f, ' ..
    '"p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "mean_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000))
end
