-- The mixed workload of DeathStarBench's social network: 60% home timeline reads, 30% user
-- timeline reads, 10% new posts, each by a user drawn at random from MIXED_USERS, a file of
-- `handle access_token` lines (`python -m benchmarks.mixed` signs the users in and writes it).
-- Works against any base URL: the gateway of `make run`, or an Ingress.
--   MIXED_USERS=users.txt wrk -t1 -c50 -d30s -s benchmarks/wrk/mixed.lua http://127.0.0.1:8080
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local users = {}
local path = assert(os.getenv("MIXED_USERS"), "set MIXED_USERS to the users file")
for line in assert(io.open(path)):lines() do
  local handle, token = line:match("^(%S+)%s+(%S+)$")
  if handle then
    users[#users + 1] = { handle = handle, auth = "Bearer " .. token }
  end
end
assert(#users > 0, "no users in " .. path)

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local written = 0
function init(args)
  math.randomseed(tonumber(os.getenv("MIXED_SEED") or "1") * 1000 + (id or 0))
end

function request()
  local user = users[math.random(#users)]
  local roll = math.random(100)
  if roll <= 60 then
    return wrk.format("GET", "/query/v1/timeline?limit=20", { Authorization = user.auth })
  elseif roll <= 90 then
    local other = users[math.random(#users)]
    return wrk.format("GET", "/query/v1/users/" .. other.handle .. "/posts?limit=20",
      { Authorization = user.auth })
  end
  written = written + 1
  local body = string.format('{"text": "mixed workload post %d of thread %d #bench"}',
    written, id or 0)
  return wrk.format("POST", "/command/v1/posts",
    { Authorization = user.auth, ["Content-Type"] = "application/json" }, body)
end
