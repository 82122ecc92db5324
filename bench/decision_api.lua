-- wrk script for bench/decision_api.py: varied decision queries with a bearer token.
--
--   wrk -t2 -c32 -d10s --latency -s bench/decision_api.lua URL -- PATHS TOKEN [DELAY_MS]
--
-- PATHS is a file of request paths ("/v1/decision?tool=…&version=…[&sha256=…]"), one a line,
-- already shuffled; every request sends `Authorization: Bearer TOKEN` and runner/job headers as
-- a CI runner would. Requests are formatted once in init(), so the per-request cost in wrk is the
-- same whichever server is measured (the script is used unchanged for nginx and bare ASGI too).
-- DELAY_MS > 0 paces each connection: it waits that long (on average; fractional values are
-- rounded stochastically) after each response, for about connections * 1000 / DELAY_MS req/s.
-- done() prints one line "WRKJSON {...}" with exact counts and percentiles in microseconds.

local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("id", counter)
end

local requests = {}
local count = 0
local index = 0

function init(args)
   local path_file, token = args[1], args[2]
   local delay_ms = tonumber(args[3] or "0") or 0
   local runner = "bench-runner-" .. tostring(id or 0)
   for line in io.lines(path_file) do
      if #line > 0 then
         count = count + 1
         requests[count] = wrk.format("GET", line, {
            ["Authorization"] = "Bearer " .. token,
            ["X-Toolgate-Runner"] = runner,
            ["X-Toolgate-Job"] = "https://ci.example.com/acme/app/-/jobs/" .. tostring(count),
         })
      end
   end
   if count == 0 then
      error("no request paths in " .. path_file)
   end
   -- threads start at different points of the same shuffled list
   index = ((id or 1) - 1) * math.floor(count / 2)
   math.randomseed(id or 1)
   if delay_ms > 0 then
      local whole = math.floor(delay_ms)
      local fraction = delay_ms - whole
      delay = function()
         if math.random() < fraction then
            return whole + 1
         end
         return whole
      end
   end
end

function request()
   index = index % count + 1
   return requests[index]
end

function done(summary, latency, _requests)
   local e = summary.errors
   io.write(string.format(
      "WRKJSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d," ..
      "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f," ..
      "\"mean_us\":%.1f,\"errors_connect\":%d,\"errors_read\":%d,\"errors_write\":%d," ..
      "\"errors_status\":%d,\"errors_timeout\":%d}\n",
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max, latency.mean,
      e.connect, e.read, e.write, e.status, e.timeout))
end
