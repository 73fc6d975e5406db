-- wrk script for `make bench`: what to request comes from the environment, and when the run ends
-- one JSON line with the exact numbers is printed (wrk's own summary rounds them).
--   MODE=plain         wrk's URL as given (the hello-world reference)
--   MODE=get-product   GET /api/products/{id}, id uniform in [FIRST, FIRST + COUNT)
--   MODE=post-order    POST /api/orders for user USER_ID (access token TOKEN), one unit of a
--                      random product
local mode = os.getenv("MODE") or "plain"
local first = tonumber(os.getenv("FIRST") or "1")
local count = tonumber(os.getenv("COUNT") or "1")
local user = tonumber(os.getenv("USER_ID") or "1")
local json = { ["Content-Type"] = "application/json",
               ["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "") }

local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  math.randomseed(os.time() * 1000 + id)
end

function request()
  local product = first + math.random(0, count - 1)
  if mode == "get-product" then
    return wrk.format("GET", "/api/products/" .. product)
  elseif mode == "post-order" then
    local body = string.format('{"user_id":%d,"product_id":%d,"quantity":1}', user, product)
    return wrk.format("POST", "/api/orders", json, body)
  end
  return wrk.format()
end

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"rps":%.1f,"http_errors":%d,"socket_errors":%d,' ..
    '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f}\n',
    summary.requests, seconds, summary.requests / seconds, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
