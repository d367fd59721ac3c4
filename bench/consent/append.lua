-- wrk script of the consent benchmark's appends over HTTP: every request is
-- POST /api/v1/consent/records with a random subject account:<n> (n in 0..N-1), the
-- purpose given, and grant / withdraw alternating, authenticated with an API token
-- that has the scope consent:write.
--
--   wrk -t1 -c8 -d10s -s bench/consent/append.lua http://127.0.0.1:8000 -- N nyhetsbrev "Bearer dv_..."
--
-- A fourth argument replaces the path (bench/consent/reference_app.py: /append).
--
-- response() counts 2xx and other answers and takes the ledger sequence number from
-- every 2xx body (a number seen twice is a duplicate); done() prints one line
-- "WRK_JSON {...}" (as paths.lua, plus ok, non2xx, duplicates, max_seq) and, if an
-- answer was not 2xx, one line "WRK_FIRST_ERROR <status> <body>", which
-- bench/consent/run.py reads.

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

local subjects = 1000
local purpose = "nyhetsbrev"
local n = 0
ok = 0
non2xx = 0
duplicates = 0
max_seq = 0
first_error = ""
local seen = {}

function init(args)
  subjects = tonumber(args[1]) or subjects
  purpose = args[2] or purpose
  if args[3] and #args[3] > 0 then
    wrk.headers["Authorization"] = args[3]
  end
  wrk.method = "POST"
  wrk.path = (args[4] and #args[4] > 0) and args[4] or "/api/v1/consent/records"
  wrk.headers["Content-Type"] = "application/json"
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  n = n + 1
  local decision = (n % 2 == 1) and "grant" or "withdraw"
  local body = string.format(
    '{"subject": "account:%d", "purpose": "%s", "decision": "%s", ' ..
    '"method": "form_checkbox", "collection_point": "https://bench.example/skjema", ' ..
    '"ip": "192.0.2.10", "user_agent": "bench-wrk"}',
    math.random(subjects) - 1, purpose, decision)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
    local seq = tonumber(string.match(body or "", '"seq":%s*(%d+)'))
    if seq then
      if seen[seq] then
        duplicates = duplicates + 1
      end
      seen[seq] = true
      if seq > max_seq then
        max_seq = seq
      end
    end
  else
    non2xx = non2xx + 1
    if first_error == "" then
      first_error = tostring(status) .. " " .. string.gsub(string.sub(body or "", 1, 400), "\n", " ")
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local good, bad, dups, top, first = 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    good = good + t:get("ok")
    bad = bad + t:get("non2xx")
    dups = dups + t:get("duplicates")
    top = math.max(top, t:get("max_seq"))
    if first == "" then
      first = t:get("first_error")
    end
  end
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_s": %.3f, "errors_connect": %d, "errors_read": %d, ' ..
    '"errors_write": %d, "errors_status": %d, "errors_timeout": %d, "p50_ms": %.3f, ' ..
    '"p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "mean_ms": %.3f, "ok": %d, ' ..
    '"non2xx": %d, "duplicates": %d, "max_seq": %d}\n',
    summary.requests, summary.duration / 1e6, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000, good, bad, dups, top))
  if first ~= "" then
    io.write("WRK_FIRST_ERROR " .. first .. "\n")
  end
end
