-- wrk script: GET one path, rotating `Authorization: Bearer <token>` over a list of tokens.
--   wrk -t1 -c32 -d10s --latency -s bench/bearer.lua http://host:port -- /path tokens.txt
-- The requests are built once in init() (one per token) so request() only picks the next one.
-- done() prints one machine-readable line, BENCH_RESULT {json}, read by bench/workloads.py.
-- Errors: wrk counts a response with status > 399 as a "status" error, plus socket
-- connect/read/write errors and timeouts.

local requests_ = {}
local count, index = 0, 0

function init(args)
  local path, file = args[1], args[2]
  for line in io.lines(file) do
    if #line > 0 then
      count = count + 1
      requests_[count] = wrk.format("GET", path, { ["Authorization"] = "Bearer " .. line })
    end
  end
  assert(count > 0, "no tokens in " .. file)
end

function request()
  index = index % count + 1
  return requests_[index]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, '
      .. '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, '
      .. '"p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
