-- One-step payments (`confirm: true`) of 1 from a source account picked per request into one
-- destination, each under a fresh Idempotency-Key. SOURCES, DESTINATION, API_KEY and TOKEN come
-- from the environment (tests/load/wrk.sh).
local sources = {}
for id in string.gmatch(os.getenv("SOURCES"), "%S+") do
  table.insert(sources, id)
end
local destination = os.getenv("DESTINATION")
local counter = 0
-- Each thread's keys carry a tag of its own (set by `setup`, in the main script state).
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_tag", tostring(threads) .. "-" .. tostring(os.time()))
end

request = function()
  counter = counter + 1
  local source = sources[(counter % #sources) + 1]
  local body = string.format(
    '{"source_account":"%s","destination_account":"%s","amount":1,"currency":"CNY","confirm":true}',
    source, destination)
  local headers = {
    ["x-api-key"] = os.getenv("API_KEY"),
    ["authorization"] = "Bearer " .. os.getenv("TOKEN"),
    ["content-type"] = "application/json",
    ["idempotency-key"] = "wrk-" .. thread_tag .. "-" .. counter,
  }
  return wrk.format("POST", "/v1/payments", headers, body)
end

done = function(summary, latency, requests)
  io.write(string.format("non-2xx or 3xx: %d\n", summary.errors.status))
  io.write(string.format("p99.9: %.2f ms, max: %.2f ms\n",
    latency:percentile(99.9) / 1000, latency.max / 1000))
end
