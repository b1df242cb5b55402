-- The soak's wrk script: replays, round robin, a mixed list of requests the harness
-- writes (one per line, tab-separated: KIND, METHOD, path, bearer token, content type,
-- body; token, content type and body may be empty, and a body "@FILE" is read from FILE
-- as raw bytes, for multipart uploads). The harness shuffles the lines by weight, so the
-- replay is the mix. Every request carries `X-Request-Id: soak-KIND-LINE`, which the
-- server echoes and writes in its log lines: responses are counted per kind and status
-- class, and the first few bad ones are kept with their request id and body.
--
--   wrk -t2 -c16 -d60s -s bench/soak.lua http://127.0.0.1:PORT -- soak.tsv
--
-- Prints its figures as one JSON line prefixed with "SOAK_JSON ".

local threads = {}

function setup(thread)
    thread:set("thread_index", #threads)
    table.insert(threads, thread)
end

local function read_file(path)
    local file = assert(io.open(path, "rb"))
    local data = file:read("*a")
    file:close()
    return data
end

function init(args)
    local list = args[1]
    if not list then
        error("usage: wrk ... -s soak.lua URL -- REQUESTS_FILE")
    end
    local dir = list:match("^(.*)/[^/]*$") or "."
    local bodies = {}
    requests = {}
    local line_number = 0
    for line in io.lines(list) do
        line_number = line_number + 1
        local kind, method, path, token, content_type, body =
            line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
        if kind then
            local headers = {["X-Request-Id"] = "soak-" .. kind .. "-" .. line_number}
            if token ~= "" then
                headers["Authorization"] = "Bearer " .. token
            end
            if content_type ~= "" then
                headers["Content-Type"] = content_type
            end
            if body == "" then
                body = nil
            elseif body:sub(1, 1) == "@" then
                local name = body:sub(2)
                bodies[name] = bodies[name] or read_file(dir .. "/" .. name)
                body = bodies[name]
            end
            requests[#requests + 1] = wrk.format(method, path, headers, body)
        end
    end
    if #requests == 0 then
        error("no requests in " .. list)
    end
    -- Threads start at different places in the list, so they do not replay in lockstep.
    position = (thread_index * math.floor(#requests / 2 + 1)) % #requests
    -- counts["KIND CLASS"], CLASS one of 1xx..5xx; bad: the first bad responses.
    counts = {}
    bad = {}
end

function request()
    position = position % #requests + 1
    return requests[position]
end

function response(status, headers, body)
    local id = headers["x-request-id"] or headers["X-Request-Id"] or ""
    local kind = id:match("^soak%-([%w_]+)%-") or "unknown"
    local class = math.floor(status / 100) .. "xx"
    local key = kind .. " " .. class
    counts[key] = (counts[key] or 0) + 1
    if (status < 200 or status > 299) and #bad < 5 then
        bad[#bad + 1] = {status = status, request_id = id,
                         body = (body or ""):sub(1, 300)}
    end
end

local function quote(text)
    text = tostring(text):gsub('[%c"\\]', function(c)
        return string.format("\\u%04x", c:byte())
    end)
    return '"' .. text .. '"'
end

function done(summary, latency, requests)
    local total = {}
    local samples = {}
    for _, thread in ipairs(threads) do
        for key, n in pairs(thread:get("counts") or {}) do
            total[key] = (total[key] or 0) + n
        end
        for _, item in ipairs(thread:get("bad") or {}) do
            if #samples < 10 then
                samples[#samples + 1] = string.format(
                    '{"status":%d,"request_id":%s,"body":%s}',
                    item.status, quote(item.request_id), quote(item.body))
            end
        end
    end
    local parts = {}
    for key, n in pairs(total) do
        parts[#parts + 1] = string.format("%s:%d", quote(key), n)
    end
    local errors = summary.errors
    io.write(string.format(
        'SOAK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"counts":{%s},"bad":[%s],' ..
        '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,' ..
        '"status_errors":%d,"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,' ..
        '"p999":%d,"max":%d}}\n',
        summary.requests, summary.duration, summary.bytes, table.concat(parts, ","),
        table.concat(samples, ","), errors.connect, errors.read, errors.write,
        errors.timeout, errors.status, latency.mean, latency:percentile(50),
        latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
        latency.max))
end
