-- One GET, repeated: the URL given to wrk, as the reader whose access token is in BENCH_TOKEN
-- (anonymous when it is unset).
--   BENCH_TOKEN=... wrk -t1 -c16 -d10s -s benchmarks/wrk/read.lua 'http://127.0.0.1:8080/query/v1/timeline?limit=20'
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
