-- wrk script of bench/public.py: each request names a code drawn at random from a file of codes (one
-- a line), from a random client address in X-Forwarded-For (bench/public_app.py trusts that header),
-- as many phones scanning many packages would be. The mode says what is asked:
--
--   get            GET /t/<code>
--   post           POST /t/<code>/scans, what the page's script sends when the page is shown
--
--     wrk -t2 -c32 -d10s --latency -s bench/public.lua http://127.0.0.1:8000/ -- codes.txt post
--
-- bench/public_zipf.lua asks for codes by a Zipf distribution instead.

local codes = {}
local mode = "get"
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  local path = args[1]
  if path == nil then
    error("usage: wrk ... -s public.lua URL -- CODES_FILE [get|post]")
  end
  mode = args[2] or "get"
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
  if mode == "post" then
    return wrk.format("POST", "/t/" .. code .. "/scans", { ["X-Forwarded-For"] = client, ["Content-Length"] = "0" })
  end
  return wrk.format("GET", "/t/" .. code, { ["X-Forwarded-For"] = client })
end
