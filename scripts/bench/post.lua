-- wrk script for the benchmark: POST a chat body, print a parseable result line when done.
-- Set by run.py: BENCH_BODY (JSON body), BENCH_RUN (X-Tollway-Run), BENCH_AUTH (bearer key).
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or
  '{"model":"bench-model","messages":[{"role":"user","content":"hello"}],"max_tokens":16}'
wrk.headers["Content-Type"] = "application/json"
local run = os.getenv("BENCH_RUN")
if run and run ~= "" then wrk.headers["X-Tollway-Run"] = run end
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = "Bearer " .. auth end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d"
    .. " connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
