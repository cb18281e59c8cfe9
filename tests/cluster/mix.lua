-- tests/cluster/mix.lua - wrk script for tests/test_cluster.sh: good,
-- revoked and tampered filings in turn (bodies from $KS_CLUSTER_DIR, named
-- in its "bodies" file as NAME EXPECTED_INDICATION), counting answers by
-- status class and 200s whose indication is not one a filing of the mix can
-- have (the exact check per filing is on the audit records).
local dir = os.getenv("KS_CLUSTER_DIR")
local reqs, allowed = {}, {}

function init(args)
    for line in io.lines(dir .. "/bodies") do
        local name, ind = line:match("^(%S+) (%S+)$")
        local f = assert(io.open(dir .. "/" .. name, "rb"))
        local b = f:read("*a")
        f:close()
        reqs[#reqs + 1] = wrk.format("POST", "/api/v1/verify", {["Content-Type"] = "application/pkcs7-mime"}, b)
        allowed[ind] = true
    end
    i = math.random(#reqs)
    c2, c5, cother, odd = 0, 0, 0, 0
end

function request()
    i = i % #reqs + 1
    return reqs[i]
end

function response(status, headers, body)
    if status == 200 then
        c2 = c2 + 1
        local ind = body:match('"indication":"([A-Z_]+)"')
        if not ind or not allowed[ind] then odd = odd + 1 end
    elseif status >= 500 then c5 = c5 + 1
    else cother = cother + 1 end
end

local threads = {}
function setup(thread)
    threads[#threads + 1] = thread
end

function done(summary, latency, requests)
    local t2, t5, to, tw = 0, 0, 0, 0
    for _, t in ipairs(threads) do
        t2 = t2 + t:get("c2")
        t5 = t5 + t:get("c5")
        to = to + t:get("cother")
        tw = tw + t:get("odd")
    end
    io.write(string.format("KS_CLUSTER 2xx=%d 5xx=%d other=%d odd=%d\n", t2, t5, to, tw))
end
