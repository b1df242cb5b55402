-- One wrk script for every scenario: it replays, round robin, the requests listed in a
-- file the harness writes (one per line: METHOD, path, bearer token, JSON body, separated
-- by tabs; token and body may be empty), counts every response outside 2xx as an error,
-- and prints its figures as one JSON line prefixed with "BENCH_JSON ".
--
--   wrk -t2 -c32 -d15s -s bench/scenario.lua http://127.0.0.1:PORT -- requests.tsv
--
-- BENCH_PACE_MS=N in the environment makes each connection wait N ms between requests
-- (a steady probe rather than a flood).

local pace = tonumber(os.getenv("BENCH_PACE_MS") or "0") or 0
if pace > 0 then
    function delay()
        return pace
    end
end

local threads = {}

function setup(thread)
    thread:set("thread_index", #threads)
    table.insert(threads, thread)
end

function init(args)
    local file = args[1]
    if not file then
        error("usage: wrk ... -s scenario.lua URL -- REQUESTS_FILE")
    end
    requests = {}
    for line in io.lines(file) do
        local method, path, token, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
        if method then
            local headers = {}
            if token ~= "" then
                headers["Authorization"] = "Bearer " .. token
            end
            if body == "" then
                body = nil
            else
                headers["Content-Type"] = "application/json"
            end
            requests[#requests + 1] = wrk.format(method, path, headers, body)
        end
    end
    if #requests == 0 then
        error("no requests in " .. file)
    end
    -- Threads start at different places in the list, so they do not replay in lockstep.
    position = (thread_index * math.floor(#requests / 2 + 1)) % #requests
    non_2xx = 0
    first_bad_status = 0
end

function request()
    position = position % #requests + 1
    return requests[position]
end

function response(status, headers, body)
    if status < 200 or status > 299 then
        non_2xx = non_2xx + 1
        if first_bad_status == 0 then
            first_bad_status = status
        end
    end
end

function done(summary, latency, requests)
    local bad, bad_status = 0, 0
    for _, thread in ipairs(threads) do
        bad = bad + (thread:get("non_2xx") or 0)
        local status = thread:get("first_bad_status") or 0
        if bad_status == 0 then
            bad_status = status
        end
    end
    local errors = summary.errors
    io.write(string.format(
        'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"non_2xx":%d,' ..
        '"first_bad_status":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
        '"timeouts":%d,"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\n',
        summary.requests, summary.duration, summary.bytes, bad, bad_status,
        errors.connect, errors.read, errors.write, errors.timeout,
        latency.mean, latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency:percentile(99.9), latency.max))
end
