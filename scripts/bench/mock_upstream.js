// A tiny OpenAI-compatible upstream for the benchmark: answers POST /v1/chat/completions at once
// with a fixed small chat.completion (with usage), keep-alive. Usage: node mock_upstream.js [port]
"use strict";
const http = require("http");

const port = Number(process.argv[2] || 16190);
const COMPLETION = Buffer.from(JSON.stringify({
  id: "chatcmpl-bench", object: "chat.completion", created: 1700000000, model: "bench-model",
  choices: [{index: 0, message: {role: "assistant", content: "Hello from the bench mock."},
             logprobs: null, finish_reason: "stop"}],
  usage: {prompt_tokens: 9, completion_tokens: 7, total_tokens: 16},
}));
const MODELS = Buffer.from(JSON.stringify({object: "list", data: [
  {id: "bench-model", object: "model", created: 1700000000, owned_by: "bench"}]}));
const NOT_FOUND = Buffer.from(JSON.stringify({error: {message: "not found", type: "not_found", code: null}}));

function send(res, status, body) {
  res.writeHead(status, {"content-type": "application/json", "content-length": body.length});
  res.end(body);
}

const server = http.createServer((req, res) => {
  const path = req.url.split("?")[0];
  if (req.method === "POST" && (path === "/v1/chat/completions" || path === "/chat/completions")) {
    req.resume();  // read and discard the body, then answer
    req.on("end", () => send(res, 200, COMPLETION));
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
