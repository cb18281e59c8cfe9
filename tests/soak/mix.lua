-- tests/soak/mix.lua - wrk script for tests/soak/soak.sh: cycles through
-- valid, invalid and malformed requests (bodies from $KS_SOAK_DIR, written
-- by soak.sh) and counts answers by class, per thread, summed in done().
local dir = os.getenv("KS_SOAK_DIR")
local reqs = {}
local function body(name)
    local f = assert(io.open(dir .. "/" .. name, "rb"))
    local b = f:read("*a")
    f:close()
    return b
end
local function add(method, path, ctype, name)
    local headers = {}
    if ctype then headers["Content-Type"] = ctype end
    reqs[#reqs + 1] = wrk.format(method, path, headers, name and body(name) or nil)
end

function init(args)
    add("POST", "/api/v1/verify", "application/pkcs7-mime", "valid.p7m")                -- 200 PASSED
    add("POST", "/api/v1/verify", "application/pkcs7-mime", "tampered.p7m")             -- 200 FAILED
    add("POST", "/api/v1/certificate", "application/x-pem-file", "cert.pem")            -- 200
    add("POST", "/api/v1/verify", "multipart/form-data; boundary=KSB", "detached.mp")   -- 200
    add("POST", "/api/v1/verify", "application/json", "detached.json")                  -- 200
    add("POST", "/api/v1/verify", "application/xml", "etax.xtx")                        -- 200
    add("POST", "/api/v1/verify", "application/octet-stream", "garbage.bin")           -- 400
    add("POST", "/api/v1/verify", "multipart/form-data; boundary=KSB", "truncated.mp")  -- 400
    add("POST", "/api/v1/verify", "application/json", "bad.json")                       -- 400
    add("POST", "/api/v1/verify", "application/json", "deep.json")                      -- 413
    add("POST", "/api/v1/verify", "application/pkcs7-mime", "flipped.p7m")              -- 400 or 200
    add("POST", "/api/v1/verify", "text/plain", "valid.p7m")                            -- 415
    add("GET", "/healthz", nil, nil)                                                    -- 200
    i = math.random(#reqs)
    c2, c4, c5, cother = 0, 0, 0, 0
end

function request()
    i = i % #reqs + 1
    return reqs[i]
end

function response(status, headers, b)
    if status >= 500 then c5 = c5 + 1
    elseif status >= 400 then c4 = c4 + 1
    elseif status >= 200 and status < 300 then c2 = c2 + 1
    else cother = cother + 1 end
end

local threads = {}
function setup(thread)
    threads[#threads + 1] = thread
end

function done(summary, latency, requests)
    local t2, t4, t5, to = 0, 0, 0, 0
    for _, t in ipairs(threads) do
        t2 = t2 + t:get("c2")
        t4 = t4 + t:get("c4")
        t5 = t5 + t:get("c5")
        to = to + t:get("cother")
    end
    io.write(string.format("KS_SOAK 2xx=%d 4xx=%d 5xx=%d other=%d p50_ms=%.1f p99_ms=%.1f\n",
        t2, t4, t5, to, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
