-- wrk script of bench/public.py: each request is GET /t/<code> for a code drawn at random from a
-- file of codes (one a line), from a random client address in X-Forwarded-For (bench/public_app.py
-- trusts that header), as many phones scanning many packages would be.
--
--     wrk -t2 -c32 -d10s --latency -s bench/public.lua http://127.0.0.1:8000/ -- codes.txt

local codes = {}
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  local path = args[1]
  if path == nil then
    error("usage: wrk ... -s public.lua URL -- CODES_FILE")
  end
  for line in io.lines(path) do
    if #line > 0 then
      codes[#codes + 1] = line
    end
  end
  if #codes == 0 then
    error("no codes in " .. path)
  end
  -- a different sequence in each thread and each run
  math.randomseed(os.time() * 7919 + (thread_number or 0) * 104729)
end

function request()
  local code = codes[math.random(#codes)]
  local client = "10." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
  return wrk.format("GET", "/t/" .. code, { ["X-Forwarded-For"] = client })
end
