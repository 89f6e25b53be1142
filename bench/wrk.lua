-- One wrk script for every measurement of bench/run.py, configured by environment variables:
--   WRK_PATH    the path to request; "{id}" in it is replaced by a random line of WRK_IDS
--   WRK_IDS     a file of award public ids, one a line (optional)
--   WRK_COOKIE  a Cookie header (the signed-in assessor's session, optional)
--   WRK_ACCEPT  an Accept header (optional)
-- At the end it prints one line "WRK_JSON {...}" with the counts and latency percentiles (µs).
local path = os.getenv("WRK_PATH") or "/"
local ids_file = os.getenv("WRK_IDS") or ""
local ids = {}
local counter = 0

if (os.getenv("WRK_COOKIE") or "") ~= "" then wrk.headers["Cookie"] = os.getenv("WRK_COOKIE") end
if (os.getenv("WRK_ACCEPT") or "") ~= "" then wrk.headers["Accept"] = os.getenv("WRK_ACCEPT") end
wrk.headers["User-Agent"] = "portfolio-bench"

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  if ids_file ~= "" then
    for line in io.lines(ids_file) do
      if line ~= "" then ids[#ids + 1] = line end
    end
  end
  math.randomseed(os.time() * 1000 + (tonumber(wrk.thread:get("seed")) or 0))
end

function request()
  if #ids > 0 then
    return wrk.format(nil, (path:gsub("{id}", ids[math.random(#ids)])))
  end
  return wrk.format(nil, path)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, ' ..
    '"mean_us": %.1f, "p50_us": %d, "p95_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency.mean, latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
