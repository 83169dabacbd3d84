-- wrk script of bench/public.py for the pages through nginx's cache: GET /t/<code>, the code of rank k
-- (its line in the file of codes) drawn with a weight 1 / k^s, as many consumers scan the few batches
-- on the shelves, from a random client address in X-Forwarded-For (the bench's nginx trusts it from
-- 127.0.0.1, as a load balancer's). At the end it prints how many answers had each X-Cache-Status.
--
--     wrk -t2 -c32 -d10s --latency -s bench/public_zipf.lua http://127.0.0.1:8080/ -- codes.txt 1.1

local codes = {}
local cumulative = {}
local threads = {}
statuses = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_number", #threads)
end

function init(args)
  local path = args[1]
  if path == nil then
    error("usage: wrk ... -s public_zipf.lua URL -- CODES_FILE S")
  end
  for line in io.lines(path) do
    if #line > 0 then
      codes[#codes + 1] = line
    end
  end
  if #codes == 0 then
    error("no codes in " .. path)
  end
  local s = tonumber(args[2] or "1.1")
  local total = 0
  for k = 1, #codes do
    total = total + k ^ -s
    cumulative[k] = total
  end
  for k = 1, #codes do
    cumulative[k] = cumulative[k] / total
  end
  -- a different sequence in each thread and each run
  math.randomseed(os.time() * 7919 + (thread_number or 0) * 104729)
end

function request()
  local u = math.random()
  local lo, hi = 1, #cumulative
  while lo < hi do  -- the first rank whose cumulative weight reaches u
    local mid = math.floor((lo + hi) / 2)
    if cumulative[mid] < u then lo = mid + 1 else hi = mid end
  end
  local client = "10." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
  return wrk.format("GET", "/t/" .. codes[lo], { ["X-Forwarded-For"] = client })
end

function response(status, headers, body)
  local key = headers["X-Cache-Status"] or "none"
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("statuses") or {}) do
      totals[key] = (totals[key] or 0) + n
    end
  end
  for key, n in pairs(totals) do
    io.write(string.format("X-Cache-Status %s %d\n", key, n))
  end
end
