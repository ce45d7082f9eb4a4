// A tiny OpenAI-compatible upstream for the benchmark, keep-alive. POST /v1/chat/completions
// answers at once with a fixed small chat.completion (with usage); with `"stream": true` it
// streams instead: a role chunk at once, then CHUNKS content chunks DELAY_MS apart (the first one
// too), a finish chunk, the usage chunk when `stream_options.include_usage`, then `[DONE]`.
// Usage: node mock_upstream.js [port] [chunks] [delay_ms]      (defaults 16190 5 2)
"use strict";
const http = require("http");

const port = Number(process.argv[2] || 16190);
const CHUNKS = Number(process.argv[3] || 5);
const DELAY_MS = Number(process.argv[4] || 2);
const COMPLETION = Buffer.from(JSON.stringify({
  id: "chatcmpl-bench", object: "chat.completion", created: 1700000000, model: "bench-model",
  choices: [{index: 0, message: {role: "assistant", content: "Hello from the bench mock."},
             logprobs: null, finish_reason: "stop"}],
  usage: {prompt_tokens: 9, completion_tokens: 7, total_tokens: 16},
}));
const MODELS = Buffer.from(JSON.stringify({object: "list", data: [
  {id: "bench-model", object: "model", created: 1700000000, owned_by: "bench"}]}));
const NOT_FOUND = Buffer.from(JSON.stringify({error: {message: "not found", type: "not_found", code: null}}));
const BAD_JSON = Buffer.from(JSON.stringify({error: {message: "body is not JSON", type: "invalid_request_error",
                                                     code: null}}));

function chunk(choices, usage) {
  const body = {id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1700000000, model: "bench-model",
                choices};
  if (usage) body.usage = usage;
  return Buffer.from("data: " + JSON.stringify(body) + "\n\n");
}
const ROLE = chunk([{index: 0, delta: {role: "assistant", content: ""}, logprobs: null, finish_reason: null}]);
const CONTENT = Array.from({length: CHUNKS}, (_, i) =>
  chunk([{index: 0, delta: {content: i === 0 ? "Hello" : " word"}, logprobs: null, finish_reason: null}]));
const FINISH = chunk([{index: 0, delta: {}, logprobs: null, finish_reason: "stop"}]);
const USAGE = chunk([], {prompt_tokens: 9, completion_tokens: CHUNKS, total_tokens: 9 + CHUNKS});
const DONE = Buffer.from("data: [DONE]\n\n");

function send(res, status, body) {
  res.writeHead(status, {"content-type": "application/json", "content-length": body.length});
  res.end(body);
}

function stream(res, includeUsage) {
  res.writeHead(200, {"content-type": "text/event-stream", "cache-control": "no-cache"});
  res.write(ROLE);
  let sent = 0;
  const next = () => {
    if (res.destroyed) return;
    if (sent < CHUNKS) {
      res.write(CONTENT[sent++]);
      setTimeout(next, DELAY_MS);
      return;
    }
    res.write(FINISH);
    if (includeUsage) res.write(USAGE);
    res.end(DONE);
  };
  setTimeout(next, DELAY_MS);
}

function chat(req, res) {
  const parts = [];
  req.on("data", (part) => parts.push(part));
  req.on("end", () => {
    const raw = Buffer.concat(parts);
    if (raw.indexOf('"stream"') < 0) return send(res, 200, COMPLETION);  // the plain path stays as cheap as before
    let body;
    try {
      body = JSON.parse(raw);
    } catch (e) {
      return send(res, 400, BAD_JSON);
    }
    if (body.stream !== true) return send(res, 200, COMPLETION);
    stream(res, Boolean(body.stream_options && body.stream_options.include_usage));
  });
}

const server = http.createServer((req, res) => {
  const path = req.url.split("?")[0];
  if (req.method === "POST" && (path === "/v1/chat/completions" || path === "/chat/completions")) {
    chat(req, res);
  } else if (req.method === "GET" && (path === "/v1/models" || path === "/models")) {
    send(res, 200, MODELS);
  } else if (req.method === "GET" && path === "/health") {
    send(res, 200, Buffer.from('{"status":"ok","service":"bench-mock"}'));
  } else {
    req.resume();
    send(res, 404, NOT_FOUND);
  }
});
server.keepAliveTimeout = 120000;
server.headersTimeout = 121000;
server.listen(port, "127.0.0.1");
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => server.close(() => process.exit(0)));
