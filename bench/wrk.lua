-- bench/wrk.lua - wrk script for `make bench` (bench/run.sh).
--
-- Each wrk thread loads a pack written by bench/mkfilings.c ("LEN PATH
-- CONTENT-TYPE\n" + LEN bytes per record) and POSTs its records in turn.
-- Environment:
--   KS_PACK    the pack (required)
--   KS_PATH    send every record to this path instead (the floor: /api/v1/echo-bench)
--   KS_EXPECT  a string every 200 answer must contain (default the passed verdict)
--   KS_EXPECT_N  ... at least this many times (default 1: a batch of 100 wants 100)
--   KS_REJECT  strings, separated by "|", no 200 answer may contain (default none)
--   KS_MODE    "spread" (default): thread t starts at record t*N/T;
--              "cold": records come in pairs (2k, 2k+1: two filings of cold
--              signer k) and thread t sends 2i + t%2, so every cold
--              certificate is asked for by two threads at about the same time
--   KS_OUT     JSON summary written here by done()
-- An answer that is not 200, lacks KS_EXPECT (KS_EXPECT_N times) or holds a
-- KS_REJECT string counts as an error ("bad").

local threads = {}
local nthreads = 0

function setup(thread)
   thread:set("tid", nthreads)
   nthreads = nthreads + 1
   table.insert(threads, thread)
end

function init(args)
   local pack = assert(os.getenv("KS_PACK"), "KS_PACK not set")
   local override = os.getenv("KS_PATH")
   if override == "" then override = nil end
   expect = os.getenv("KS_EXPECT") or '"indication":"TOTAL_PASSED"'
   expect_n = tonumber(os.getenv("KS_EXPECT_N") or "1")
   reject = {}
   for r in string.gmatch(os.getenv("KS_REJECT") or "", "[^|]+") do reject[#reject + 1] = r end
   mode = os.getenv("KS_MODE") or "spread"
   local f = assert(io.open(pack, "rb"))
   reqs = {}
   while true do
      local line = f:read("*l")
      if not line then break end
      local n, path, ctype = line:match("^(%d+) (%S+) (.+)$")
      assert(n, "bad pack header")
      local body = f:read(tonumber(n))
      reqs[#reqs + 1] = wrk.format("POST", override or path, {["Content-Type"] = ctype}, body)
   end
   f:close()
   nreq = #reqs
   sent, bad, maxi = 0, 0, 0
   local nt = tonumber(os.getenv("KS_THREADS") or "1")
   if mode == "cold" then
      i = 0
   else
      i = math.floor(tid * nreq / nt)
   end
end

function request()
   local r
   if mode == "cold" then
      local k = (2 * i + (tid % 2)) % nreq
      r = reqs[k + 1]
   else
      r = reqs[(i % nreq) + 1]
   end
   i = i + 1
   sent = sent + 1
   if i > maxi then maxi = i end
   return r
end

local function count(body, s, upto)
   local n, at = 0, 1
   while n < upto do
      local i = body:find(s, at, true)
      if not i then break end
      n, at = n + 1, i + #s
   end
   return n
end

local function acceptable(body)
   if count(body, expect, expect_n) < expect_n then return false end
   for _, r in ipairs(reject) do
      if body:find(r, 1, true) then return false end
   end
   return true
end

function response(status, headers, body)
   if status ~= 200 or not body or not acceptable(body) then
      bad = bad + 1
      if bad <= 3 then
         io.stderr:write("wrk.lua: unexpected answer " .. status .. ": " .. string.sub(body or "", 1, 300) .. "\n")
      end
   end
end

function done(summary, latency, requests)
   local nbad, nsent, maxidx = 0, 0, 0
   for _, t in ipairs(threads) do
      nbad = nbad + (t:get("bad") or 0)
      nsent = nsent + (t:get("sent") or 0)
      local m = t:get("maxi") or 0
      if m > maxidx then maxidx = m end
   end
   local e = summary.errors
   local secs = summary.duration / 1e6
   local out = os.getenv("KS_OUT")
   local s = string.format(
      '{"requests": %d, "seconds": %.2f, "requests_per_s": %.1f, ' ..
      '"latency_ms": {"p50": %.2f, "p99": %.2f, "p99_9": %.2f, "max": %.2f, "mean": %.2f}, ' ..
      '"errors": {"bad_answers": %d, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"sent": %d, "max_index_per_thread": %d}',
      summary.requests, secs, summary.requests / secs,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
      latency.max / 1000, latency.mean / 1000,
      nbad, e.connect, e.read, e.write, e.status, e.timeout, nsent, maxidx)
   if out then
      local f = assert(io.open(out, "w"))
      f:write(s .. "\n")
      f:close()
   end
   io.write(s .. "\n")
end
