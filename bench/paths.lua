-- wrk script: each request goes to a path drawn at random from the file named by BENCH_PATHS
-- (one path per line), so a run measures many different pages, not one page served from a cache.
-- A line `PATH<TAB>TOKEN` sends the request as that signed-in viewer (an API token).
local paths = {}

init = function(args)
  for line in io.lines(os.getenv("BENCH_PATHS")) do
    if #line > 0 then
      local path, token = line:match("^([^\t]+)\t(.+)$")
      if path then
        paths[#paths + 1] = { path, { ["Authorization"] = "Bearer " .. token } }
      else
        paths[#paths + 1] = { line, nil }
      end
    end
  end
  -- Each wrk thread draws its own sequence.
  math.randomseed(os.time() + #tostring({}) * 7919 + math.floor(os.clock() * 1e6))
end

request = function()
  local p = paths[math.random(#paths)]
  return wrk.format("GET", p[1], p[2])
end
