// The browser side of docs/check-eventsource.sh: from this page's origin (listed in the
// server's ROOST_CORS_ORIGINS) register and log in with fetch, get a stream ticket, open
// `new EventSource(api + '/api/v1/stream?ticket=…')`, and once it is open write a post and
// wait for the `post` event carrying its content. The outcome goes to document.title and
// #result: "PASS: …" or "FAIL: …".
"use strict";

const WAIT_MS = 10000;
const api = (new URLSearchParams(location.search).get("api") || "").replace(/\/+$/, "");
const started = performance.now();
let finished = false;

function log(message) {
  const ms = Math.round(performance.now() - started);
  document.getElementById("log").textContent += `${ms} ms  ${message}\n`;
}

function finish(ok, message) {
  if (finished) return;
  finished = true;
  log((ok ? "PASS: " : "FAIL: ") + message);
  const result = document.getElementById("result");
  result.dataset.status = ok ? "pass" : "fail";
  result.textContent = message;
  document.title = (ok ? "PASS: " : "FAIL: ") + message;
}

async function call(method, path, token, body, expected) {
  const headers = {};
  if (token) headers["Authorization"] = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(api + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== expected) {
    throw new Error(`${method} ${path} answered ${response.status} (expected ${expected}): ${text.slice(0, 300)}`);
  }
  log(`${method} ${path}: ${response.status}`);
  return text ? JSON.parse(text) : null;
}

async function main() {
  if (!api) throw new Error("no ?api= in the page's address");
  const suffix = Math.random().toString(36).slice(2, 10);
  const email = `eventsource_${suffix}@check.example`;
  const username = `eventsource_${suffix}`;
  const password = "eventsource-check-password";
  const content = `EventSource check ${suffix}`;

  await call("POST", "/api/v1/auth/register", null, { email, username, password }, 201);
  const { token } = await call("POST", "/api/v1/auth/login", null, { email, password }, 200);
  const { ticket } = await call("POST", "/api/v1/stream/tickets", token, undefined, 201);

  const source = new EventSource(`${api}/api/v1/stream?ticket=${encodeURIComponent(ticket)}`);
  let posted = false;
  source.onopen = async () => {
    log("EventSource open");
    if (posted) return; // a reconnection: the post was already written
    posted = true;
    try {
      await call("POST", "/api/v1/posts", token, { content }, 201);
    } catch (error) {
      source.close();
      finish(false, String(error));
    }
  };
  source.addEventListener("post", (event) => {
    let post;
    try {
      post = JSON.parse(event.data);
    } catch (error) {
      source.close();
      finish(false, `a post event whose data is not JSON: ${event.data.slice(0, 200)}`);
      return;
    }
    log(`post event ${event.lastEventId}: ${JSON.stringify(post.content)}`);
    if (post.content === content) {
      source.close();
      finish(true, `the post event arrived through EventSource (id ${event.lastEventId})`);
    }
  });
  source.onerror = () => {
    log(`EventSource error (readyState ${source.readyState})`);
    if (source.readyState === EventSource.CLOSED) {
      finish(false, "EventSource failed and closed (refused by CORS, or the ticket was not accepted)");
    }
  };
  setTimeout(() => {
    source.close();
    finish(false, `no post event within ${WAIT_MS / 1000} s (EventSource readyState ${source.readyState}, posted: ${posted})`);
  }, WAIT_MS);
}

main().catch((error) => finish(false, String(error)));
