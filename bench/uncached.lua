-- Each request asks for the URL with a query parameter of its own, so that no cache keyed by the
-- full path (the workers' page cache, nginx) can answer it: what the page costs without them.
request = function()
  local sep = string.find(wrk.path, "?", 1, true) and "&" or "?"
  return wrk.format("GET", wrk.path .. sep .. "uncached=" .. math.random(1, 1000000000))
end
