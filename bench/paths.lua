-- wrk script: each request goes to a path drawn at random from the file named by BENCH_PATHS
-- (one path per line), so a run measures many different pages, not one page served from a cache.
local paths = {}

init = function(args)
  for line in io.lines(os.getenv("BENCH_PATHS")) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  -- Each wrk thread draws its own sequence.
  math.randomseed(os.time() + #tostring({}) * 7919 + math.floor(os.clock() * 1e6))
end

request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
