-- wrk script for bench/redirect.py.
--
--   wrk ... -s bench/redirect.lua <url> -- <file with one path per line>
--
-- Every thread pre-formats one GET per path (with a real browser
-- User-Agent, so clicks are classified "human") and rotates over them,
-- each thread starting at a different offset. Response statuses are
-- counted per thread (wrk itself does not flag 3xx, so a 200 or a 404
-- would otherwise pass unnoticed) and printed with the latency figures as
-- one JSON line starting with "BENCHJSON " in done().

local USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
  .. "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function init(args)
  local path_file = args[1]
  local paths = {}
  for line in io.lines(path_file) do
    if #line > 0 then
      table.insert(paths, line)
    end
  end
  if #paths == 0 then
    error("no paths in " .. tostring(path_file))
  end
  requests_ = {}
  for i, path in ipairs(paths) do
    requests_[i] = wrk.format("GET", path, {
      ["User-Agent"] = USER_AGENT,
      ["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
      ["Accept-Language"] = "en-GB,en;q=0.9",
    })
  end
  count_ = #paths
  -- Spread the threads over the list.
  next_ = (thread_index * math.floor(count_ / 2)) % count_
  statuses = {}
end

function request()
  next_ = next_ % count_ + 1
  return requests_[next_]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses") or {}
    for status, n in pairs(counts) do
      merged[status] = (merged[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(merged) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  -- Latency quantiles (every 1 % up to 98 %, then every 0.05 %), so that runs
  -- can be merged into one distribution by the caller.
  local q = {}
  local p = 1
  while p <= 100.0001 do
    table.insert(q, string.format("[%.2f, %d]", p, latency:percentile(p)))
    if p < 98 then p = p + 1 else p = p + 0.05 end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "bytes": %d, '
    .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
    .. '"statuses": {%s}, '
    .. '"latency_us": {"mean": %.1f, "max": %d, "p50": %d, "p90": %d, "p99": %d}, '
    .. '"quantiles": [%s]}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(parts, ", "),
    latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    table.concat(q, ", ")))
end
