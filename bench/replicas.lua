-- wrk script for bench/replicas.py: each request is a GET of a path drawn at random from the
-- file named by BENCH_PATHS (one per line; wrk's -H headers, such as the API token, are sent with
-- each), and the run ends with one line `STATUSES {"200": n, ...}` counting every answer by
-- status, so a 502 or 503 is seen as such, not only as wrk's "Non-2xx" total.
local paths = {}
local threads = {}

setup = function(thread)
  threads[#threads + 1] = thread
end

init = function(args)
  for line in io.lines(os.getenv("BENCH_PATHS")) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  math.randomseed(os.time() + #tostring({}) * 7919 + math.floor(os.clock() * 1e6))
  statuses = {}
end

request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for status, n in pairs(counts) do
      total[status] = (total[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(total) do
    parts[#parts + 1] = string.format('"%d": %d', status, n)
  end
  io.write("STATUSES {" .. table.concat(parts, ", ") .. "}\n")
end
