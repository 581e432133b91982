-- wrk's requests for tests/soak/endurance.py, a fixed mix, the same for every run (the script
-- stops wrk once sluice has answered a round's requests):
--   59% GET / kept alive    15% GET / with Connection: close    15% POST /echo, 4 KiB
--    9% GET /work?ms=2        1% GET /big (1 MiB)
--    1% GET /flaky/, a backend whose one server resets every request
local body = string.rep("x", 4096)
local requests = {}
local counter = 0

local function add(share, method, path, headers, payload)
  local r = wrk.format(method, path, headers, payload)
  for _ = 1, share do requests[#requests + 1] = r end
end

add(59, "GET", "/", {})
add(15, "GET", "/", { ["Connection"] = "close" })
add(15, "POST", "/echo", { ["Content-Type"] = "application/octet-stream" }, body)
add(9, "GET", "/work?ms=2", {})
add(1, "GET", "/big", {})
add(1, "GET", "/flaky/", {})

function request()
  counter = counter % #requests + 1
  return requests[counter]
end
