-- wrk script of the portal benchmark (bench/load.py writes the configuration it reads).
--
-- * Rotates through the configured requests (one per signed-in editor for the poll), each with its own
--   session cookie, CSRF header and body.
-- * Autosave: every thread owns one editor's agreement and runs one connection, so its saves are
--   sequential; each save names the field version the previous answer reported (as the page's hidden input
--   does) and alternates between two values, so that every request really saves.
-- * Counts answers whose status is not the expected one (a 302 to the sign-in page would otherwise look
--   like a fast success), and prints one JSON line that bench/load.py reads.

local config = dofile(os.getenv("BENCH_WRK_CONFIG"))
local threads = {}
local thread_count = 0

local function urlencode(text)
  return (string.gsub(text, "[^%w%-%._~]", function(ch) return string.format("%%%02X", string.byte(ch)) end))
end

local function pattern_escape(text)
  return (string.gsub(text, "[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"))
end

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function init(args)
  turn = 0
  unexpected = 0
  last_unexpected = ""
  saves = config.autosave
  if saves then
    mine = (thread_index % #config.requests) + 1
    version_pattern = 'name="v%-' .. pattern_escape(saves[mine].key) .. '" value="(%d+)"'
  end
end

function request()
  local n
  if saves then
    n = mine
  else
    n = (thread_index + turn) % #config.requests + 1
  end
  local r = config.requests[n]
  local body = r.body
  if saves then
    local save = saves[n]
    body = "v-" .. save.key .. "=" .. save.version .. "&" .. save.input .. "=" .. urlencode(save.values[turn % 2 + 1])
  end
  turn = turn + 1
  if body == "" then
    body = nil
  end
  return wrk.format(r.method, r.path, r.headers, body)
end

function response(status, headers, body)
  if status ~= config.expect then
    unexpected = unexpected + 1
    last_unexpected = tostring(status)
  end
  if saves then
    local version = string.match(body, version_pattern)
    if version then
      saves[mine].version = tonumber(version)
    end
  end
end

function done(summary, latency, requests)
  local unexpected_total = 0
  local last = ""
  for _, thread in ipairs(threads) do
    unexpected_total = unexpected_total + (thread:get("unexpected") or 0)
    local status = thread:get("last_unexpected")
    if status and status ~= "" then
      last = status
    end
  end
  io.write(string.format(
    'BENCH-JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f, "errors_connect": %d, "errors_read": %d, "errors_write": %d, ' ..
    '"errors_status": %d, "errors_timeout": %d, "unexpected": %d, "unexpected_status": "%s"}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout, unexpected_total, last))
end
