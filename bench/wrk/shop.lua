-- wrk script for `make bench`: what to request comes from the environment, and when the run ends
-- one JSON line with the exact numbers is printed (wrk's own summary rounds them).
--   MODE=plain         wrk's URL as given (the hello-world reference)
--   MODE=get-product   GET /api/products/{id}, id uniform in [FIRST, FIRST + COUNT)
--   MODE=post-order    POST /api/orders, one unit of a random product, by a random buyer of
--                      the BUYERS file (`<user id> <access token> <address id>` lines, from `seed`)
--   MODE=post-lines    POST /api/orders with items: one unit each of 3 different random
--                      products, shipped to the buyer's address
local mode = os.getenv("MODE") or "plain"
local first = tonumber(os.getenv("FIRST") or "1")
local count = tonumber(os.getenv("COUNT") or "1")
local buyers = {}
if mode == "post-order" or mode == "post-lines" then
  for line in io.lines(os.getenv("BUYERS")) do
    local id, token, address = line:match("^(%d+) (%S+) ?(%d*)$")
    if id then buyers[#buyers + 1] = { id = tonumber(id), token = token, address = address } end
  end
end

-- 3 different products of [FIRST, FIRST + COUNT)
local function three_products()
  local picked = {}
  while #picked < math.min(3, count) do
    local product = first + math.random(0, count - 1)
    local seen = false
    for _, p in ipairs(picked) do seen = seen or p == product end
    if not seen then picked[#picked + 1] = product end
  end
  return picked
end

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
    local buyer = buyers[math.random(1, #buyers)]
    local body = string.format('{"user_id":%d,"product_id":%d,"quantity":1}', buyer.id, product)
    local headers = { ["Content-Type"] = "application/json",
                      ["Authorization"] = "Bearer " .. buyer.token }
    return wrk.format("POST", "/api/orders", headers, body)
  elseif mode == "post-lines" then
    local buyer = buyers[math.random(1, #buyers)]
    local items = {}
    for _, p in ipairs(three_products()) do
      items[#items + 1] = string.format('{"product_id":%d,"quantity":1}', p)
    end
    local body = string.format('{"items":[%s],"address_id":%s}', table.concat(items, ","), buyer.address)
    local headers = { ["Content-Type"] = "application/json",
                      ["Authorization"] = "Bearer " .. buyer.token }
    return wrk.format("POST", "/api/orders", headers, body)
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
