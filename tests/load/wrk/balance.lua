-- Balance reads of one account (SOURCES' first), authorized as tests/load/wrk.sh set up.
local account = string.match(os.getenv("SOURCES"), "%S+")
wrk.method = "GET"
wrk.path = "/v1/accounts/" .. account .. "/balance"
wrk.headers["x-api-key"] = os.getenv("API_KEY")
wrk.headers["authorization"] = "Bearer " .. os.getenv("TOKEN")

done = function(summary, latency, requests)
  io.write(string.format("non-2xx or 3xx: %d\n", summary.errors.status))
  io.write(string.format("p99.9: %.2f ms, max: %.2f ms\n",
    latency:percentile(99.9) / 1000, latency.max / 1000))
end
