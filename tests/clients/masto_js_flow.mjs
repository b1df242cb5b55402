// masto.js against Roost's Mastodon-compatible API, as an app would use it.
//
// Run by tests/clients/run.sh with Node, from the npm project it installs (so that `masto`
// resolves), against a fresh server:
//
//     FLOW_URL=http://127.0.0.1:8081 \
//     FLOW_ACCOUNTS='[{"username": …, "email": …, "password": …}, {…}]' node masto_js_flow.mjs
//
// Both accounts sign in through the OAuth flow with PKCE (S256): the app registered with
// `v1.apps.create`, the authorize page's form posted like a browser (cookies kept, hidden
// inputs as they are), the code read from the page and exchanged by `oauth.token.create`.
// Then the first account posts with an image, reads and pages the home timeline with the
// paginator, favourites, follows and unfollows the second, searches, schedules a status,
// reads the notifications the second one caused and receives an `update` over the
// WebSocket stream; the second one then revokes its token. Every call after the sign-in
// is the library's own. Each step is reported on its own line; a failed step prints the
// error and the last exchanges with the server, the remaining steps still run, and the
// exit status is 1.

import { createHash, randomBytes } from "node:crypto";
import { deflateSync } from "node:zlib";

import { createOAuthAPIClient, createRestAPIClient, createStreamingAPIClient } from "masto";

const SCOPES = "read write follow";
const REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob";
const STREAM_WAIT_MS = 10_000;

const BASE_URL = process.env.FLOW_URL.replace(/\/+$/, "");
const ACCOUNTS = JSON.parse(process.env.FLOW_ACCOUNTS);

// ---------------------------------------------------------------------------------------
// The last exchanges with the server, printed when a step fails: masto calls the global
// fetch, which is wrapped here to keep them.

const exchanges = [];
const realFetch = globalThis.fetch;

function printable(text, limit) {
  const cut = text.length > limit ? `${text.slice(0, limit)}…` : text;
  return /[\u0000-\u0008\u000e-\u001f]/.test(cut) ? `<${text.length} bytes, binary>` : cut;
}

globalThis.fetch = async (input, init) => {
  const request = new Request(input, init);
  const sent = request.body ? printable(await request.clone().text(), 300) : "";
  const response = await realFetch(request);
  const type = response.headers.get("content-type") ?? "";
  const received = type.startsWith("text/event-stream")
    ? "<event stream>"
    : printable(await response.clone().text(), 600);
  const link = response.headers.get("link");
  exchanges.push(
    `${request.method} ${request.url}\n` +
      `    authorization: ${(request.headers.get("authorization") ?? "none").split(" ")[0]}, body: ${JSON.stringify(sent)}\n` +
      `    -> ${response.status} ${type}${link ? ` Link: ${link}` : ""}\n    ${received}`,
  );
  if (exchanges.length > 4) exchanges.shift();
  return response;
};

class StepFailed extends Error {}

function expect(condition, message) {
  if (!condition) throw new StepFailed(message);
}

const failures = [];

async function step(name, run) {
  const started = performance.now();
  exchanges.length = 0;
  try {
    await run();
  } catch (error) {
    failures.push(name);
    const detail = error instanceof StepFailed ? error.message : describe(error);
    console.log(`FAIL ${name}: ${detail}`);
    if (exchanges.length > 0) {
      console.log("  last exchanges:");
      for (const exchange of exchanges) console.log(`  ${exchange.replaceAll("\n", "\n  ")}`);
    }
    return;
  }
  console.log(`ok   ${name} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

function describe(error) {
  const parts = [`${error?.constructor?.name ?? "Error"}: ${error?.message ?? error}`];
  if (error?.statusCode) parts.push(`status ${error.statusCode}`);
  if (error?.description) parts.push(`description ${JSON.stringify(error.description)}`);
  if (error?.details) parts.push(`details ${JSON.stringify(error.details)}`);
  if (error?.cause && !(error.cause instanceof Response)) parts.push(`cause ${error.cause}`);
  const stack = (error?.stack ?? "").split("\n").slice(1, 4).join("\n");
  return `${parts.join(", ")}${stack ? `\n${stack}` : ""}`;
}

// ---------------------------------------------------------------------------------------
// A small PNG, made here

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function png(width = 8, height = 8) {
  const chunk = (kind, data) => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(kind, "ascii"), data]);
    const tail = Buffer.alloc(4);
    tail.writeUInt32BE(crc32(body));
    return Buffer.concat([head, body, tail]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = [];
  for (let y = 0; y < height; y++) {
    rows.push(0); // filter: none
    for (let x = 0; x < width; x++) rows.push((x * 30) % 256, (y * 30) % 256, 200);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.from(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

// ---------------------------------------------------------------------------------------
// The authorize page, driven like a browser

function decodeEntities(text) {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec) => String.fromCodePoint(parseInt(dec, 10)))
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&apos;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");
}

function attributes(text) {
  const found = {};
  for (const match of text.matchAll(/([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/g)) {
    found[match[1].toLowerCase()] = decodeEntities(match[2] ?? match[3] ?? match[4] ?? "");
  }
  return found;
}

/** The forms of a page (fields, submit buttons) and the text or value of `id="code"`. */
function parsePage(html) {
  let code = null;
  const marked = html.match(/<(\w+)\b([^>]*\bid\s*=\s*["']?code["'\s>][^>]*)>/i);
  if (marked) {
    const [whole, tag, attrText] = marked;
    const attrs = attributes(attrText);
    if (["input", "textarea"].includes(tag.toLowerCase()) && attrs.value) {
      code = attrs.value.trim();
    } else {
      const rest = html.slice(marked.index + whole.length);
      const end = rest.search(new RegExp(`</${tag}\\s*>`, "i"));
      code = decodeEntities(rest.slice(0, end < 0 ? undefined : end).replace(/<[^>]*>/g, "")).trim();
    }
  }
  const forms = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form\s*>/gi)) {
    const attrs = attributes(match[1]);
    const form = {
      action: attrs.action ?? "",
      method: (attrs.method ?? "get").toLowerCase(),
      fields: [],
      submits: [],
    };
    for (const input of match[2].matchAll(/<input\b([^>]*)>/gi)) {
      const a = attributes(input[1]);
      const kind = (a.type ?? "text").toLowerCase();
      if (kind === "submit" || kind === "image") {
        form.submits.push({ name: a.name ?? "", value: a.value ?? "", label: a.value ?? "" });
      } else if (kind === "checkbox" || kind === "radio") {
        if ("checked" in a) form.fields.push({ name: a.name ?? "", value: a.value || "on", kind });
      } else if (a.name) {
        form.fields.push({ name: a.name, value: a.value ?? "", kind });
      }
    }
    for (const button of match[2].matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button\s*>/gi)) {
      const a = attributes(button[1]);
      if ((a.type ?? "submit").toLowerCase() !== "submit") continue;
      form.submits.push({
        name: a.name ?? "",
        value: a.value ?? "",
        label: decodeEntities(button[2].replace(/<[^>]*>/g, "")).trim(),
      });
    }
    forms.push(form);
  }
  return { code, forms };
}

/** A browser's side of the authorize page: cookies kept across requests and redirects. */
class Browser {
  cookies = new Map();

  async request(url, init = {}) {
    let method = init.method ?? "GET";
    let body = init.body;
    for (let hops = 0; hops < 10; hops++) {
      const headers = new Headers(init.headers ?? {});
      headers.set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) roost-client-flows");
      if (this.cookies.size > 0) {
        headers.set("Cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
      }
      const response = await fetch(url, { method, body, headers, redirect: "manual" });
      for (const cookie of response.headers.getSetCookie()) {
        const [pair] = cookie.split(";");
        const eq = pair.indexOf("=");
        this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
      }
      const location = response.headers.get("location");
      if (response.status >= 300 && response.status < 400 && location) {
        url = new URL(location, url).toString();
        if (response.status !== 307 && response.status !== 308) {
          method = "GET";
          body = undefined;
        }
        continue;
      }
      return { url, response, text: await response.text() };
    }
    throw new StepFailed(`more than 10 redirects from ${url}`);
  }
}

function refuses(submit) {
  return /deny|reject|cancel|refuse|decline/i.test(`${submit.name} ${submit.value} ${submit.label}`);
}

async function browserSignIn(authorizeUrl, account) {
  const browser = new Browser();
  let { url, response, text } = await browser.request(authorizeUrl);
  expect(response.status === 200, `GET ${authorizeUrl} answered ${response.status}: ${text.slice(0, 300)}`);
  expect(
    (response.headers.get("content-type") ?? "").includes("text/html"),
    `the authorize page is ${response.headers.get("content-type")}, not HTML`,
  );
  const hidden = parsePage(text).forms.flatMap((f) => f.fields.filter((x) => x.kind === "hidden").map((x) => x.name));
  console.log(`     authorize page: cookies [${[...browser.cookies.keys()].join(", ")}], hidden inputs [${hidden.join(", ")}]`);
  for (let round = 0; round < 4; round++) {
    const page = parsePage(text);
    if (page.code) return page.code;
    const form = page.forms.find((f) => f.method === "post");
    expect(form, `${url} has neither a code (id="code") nor a form to post: ${text.slice(0, 600)}`);
    const data = new URLSearchParams();
    for (const { name, value, kind } of form.fields) {
      const lowered = name.toLowerCase();
      if (kind === "password" || lowered.includes("password")) {
        data.append(name, account.password);
      } else if (kind === "email" || lowered.includes("email") || ["username", "login", "user[login]"].includes(lowered)) {
        data.append(name, account.email);
      } else {
        data.append(name, value);
      }
    }
    const approving = form.submits.find((s) => !refuses(s));
    if (approving?.name) data.append(approving.name, approving.value);
    const action = new URL(form.action || url, url).toString();
    ({ url, response, text } = await browser.request(action, {
      method: "POST",
      body: data.toString(),
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    }));
    expect(response.status === 200, `POST ${action} answered ${response.status} (after redirects): ${text.slice(0, 400)}`);
  }
  throw new StepFailed("no code after posting the authorize page's forms four times");
}

// ---------------------------------------------------------------------------------------
// The flow

const state = {};

async function signIn(account, key) {
  const app = await createRestAPIClient({ url: BASE_URL, timeout: 15_000 }).v1.apps.create({
    clientName: `roost-clients-js-${key}`,
    redirectUris: REDIRECT_URI,
    scopes: SCOPES,
    website: "https://example.org/roost",
  });
  expect(app.clientId && app.clientSecret, `apps.create returned ${JSON.stringify(app)}`);
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const stateParam = randomBytes(9).toString("base64url");
  const query = new URLSearchParams({
    response_type: "code",
    client_id: app.clientId,
    redirect_uri: REDIRECT_URI,
    scope: SCOPES,
    state: stateParam,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  const code = await browserSignIn(`${BASE_URL}/oauth/authorize?${query}`, account);
  const oauth = createOAuthAPIClient({ url: BASE_URL, timeout: 15_000 });
  const token = await oauth.token.create({
    grantType: "authorization_code",
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    redirectUri: REDIRECT_URI,
    code,
    codeVerifier: verifier,
    scope: SCOPES,
  });
  expect(token.accessToken, `token.create returned ${JSON.stringify(token)}`);
  expect(token.tokenType?.toLowerCase() === "bearer", `token_type is ${token.tokenType}`);
  const masto = createRestAPIClient({ url: BASE_URL, accessToken: token.accessToken, timeout: 15_000 });
  const me = await masto.v1.accounts.verifyCredentials();
  expect(me.username === account.username, `verify_credentials is ${me.username}, not ${account.username}`);
  expect(me.source, "verify_credentials has no `source`");
  state[key] = masto;
  state[`${key}Token`] = token.accessToken;
  state[`${key}App`] = app;
  state[`${key}Account`] = me;
}

async function postWithImage() {
  const { alice } = state;
  const media = await alice.v2.media.create({
    file: new Blob([png()], { type: "image/png" }),
    description: "a small grid of coloured dots",
  });
  expect(media.type === "image", `media type is ${media.type}`);
  expect(media.url, `the media has no url: ${JSON.stringify(media)}`);
  const status = await alice.v1.statuses.create({
    status: "A post from masto.js with an image #roostclients",
    mediaIds: [media.id],
  });
  expect(status.mediaAttachments.length === 1, `${status.mediaAttachments.length} attachments`);
  expect(status.mediaAttachments[0].id === media.id, "the attachment is not the uploaded media");
  expect(status.account.id === state.aliceAccount.id, "the status is not the poster's");
  const fetched = await alice.v1.statuses.$select(status.id).fetch();
  expect(fetched.id === status.id, "GET the status by id returned another");
  const image = await realFetch(media.url);
  expect(
    image.ok && (image.headers.get("content-type") ?? "").startsWith("image/"),
    `GET the media url answered ${image.status} ${image.headers.get("content-type")}`,
  );
  state.imageStatus = status;
}

const newestFirst = (ids) => ids.every((id, i) => i === 0 || BigInt(ids[i - 1]) > BigInt(id));

async function pageHomeTimeline() {
  const { alice } = state;
  const posted = [];
  for (let n = 0; n < 5; n++) {
    posted.push((await alice.v1.statuses.create({ status: `Timeline post number ${n} from masto.js` })).id);
  }
  const seen = [];
  let pages = 0;
  for await (const page of alice.v1.timelines.home.list({ limit: 2 })) {
    pages += 1;
    if (pages === 1) {
      expect(
        JSON.stringify(page.map((s) => s.id)) === JSON.stringify([posted[4], posted[3]]),
        `the first page is ${page.map((s) => s.id)}, not the two newest posts newest first`,
      );
    }
    expect(page.length <= 2, `a page of ${page.length} statuses with limit=2`);
    seen.push(...page.map((s) => s.id));
    // The paginator follows `rel="next"` for as long as there is one: an app that loads
    // everything hangs unless the end of the timeline carries none.
    expect(pages < 12, `the paginator did not end after ${pages} pages (${seen.length} statuses): ` +
      "the last page still links to a next one");
  }
  expect(pages >= 3, `only ${pages} page(s) for ${seen.length} statuses with limit=2`);
  expect(new Set(seen).size === seen.length, `pages overlap: ${seen}`);
  expect(newestFirst(seen), `pages are not newest first: ${seen}`);
  expect(posted.every((id) => seen.includes(id)), "paging did not reach every post");
  expect(seen.includes(state.imageStatus.id), "paging did not reach the post with the image");
  // Backwards: from the page below the two newest, the `prev` link leads to them.
  const backwards = alice.v1.timelines.home.list({ limit: 2, maxId: posted[3] }).setDirection("prev");
  const below = [];
  for await (const page of backwards) {
    below.push(page.map((s) => s.id));
    if (below.length >= 2) break;
  }
  expect(
    JSON.stringify(below[0]) === JSON.stringify([posted[2], posted[1]]),
    `the page below max_id is ${below[0]}, not the third and fourth newest`,
  );
  expect(
    JSON.stringify(below[1]) === JSON.stringify([posted[4], posted[3]]),
    `the prev page from it is ${below[1]}, not the two newest`,
  );
}

async function favourite() {
  const { alice, imageStatus } = state;
  const answered = await alice.v1.statuses.$select(imageStatus.id).favourite();
  expect(answered.favourited === true, `favourited is ${answered.favourited}`);
  expect(answered.favouritesCount === 1, `favourites_count is ${answered.favouritesCount}`);
  const fetched = await alice.v1.statuses.$select(imageStatus.id).fetch();
  expect(fetched.favourited === true, "GET the status after favouriting: not favourited");
  const favourites = await alice.v1.favourites.list();
  expect(favourites.some((s) => s.id === imageStatus.id), "the status is not in favourites");
  const by = await alice.v1.statuses.$select(imageStatus.id).favouritedBy.list();
  expect(by.map((a) => a.id).join() === state.aliceAccount.id, "favourited_by is not the favouriter");
}

async function followAndUnfollow() {
  const { alice, bobAccount } = state;
  const bob = await alice.v1.accounts.lookup({ acct: bobAccount.username });
  expect(bob.id === bobAccount.id, "accounts.lookup found another account");
  const found = await alice.v1.accounts.search.list({ q: bobAccount.username });
  expect(found.some((a) => a.id === bob.id), "accounts.search did not find the account");
  let relationship = await alice.v1.accounts.$select(bob.id).follow();
  expect(relationship.following === true, `after follow, following is ${relationship.following}`);
  let [listed] = await alice.v1.accounts.relationships.fetch({ id: [bob.id] });
  expect(listed?.following === true, "relationships: not following");
  relationship = await alice.v1.accounts.$select(bob.id).unfollow();
  expect(relationship.following === false, `after unfollow, following is ${relationship.following}`);
  [listed] = await alice.v1.accounts.relationships.fetch({ id: [bob.id] });
  expect(listed?.following === false, "relationships: still following");
  // Followed again for the stream below.
  relationship = await alice.v1.accounts.$select(bob.id).follow();
  expect(relationship.following === true, "following again failed");
}

async function search() {
  const { alice, bobAccount } = state;
  const word = `wombat${randomBytes(3).toString("hex")}`;
  const status = await alice.v1.statuses.create({ status: `Searching for the ${word} with masto.js #${word}` });
  const results = await alice.v2.search.list({ q: word });
  expect(
    results.statuses.some((s) => s.id === status.id),
    `search found statuses ${results.statuses.map((s) => s.id)}, not ${status.id}`,
  );
  expect(
    results.hashtags.some((t) => t.name.toLowerCase() === word),
    `search hashtags: ${JSON.stringify(results.hashtags)}`,
  );
  const accounts = await alice.v2.search.list({ q: bobAccount.username, type: "accounts" });
  expect(accounts.accounts.some((a) => a.id === bobAccount.id), "search did not find the account");
}

async function schedule() {
  const { alice } = state;
  const at = new Date(Date.now() + 10 * 60 * 1000);
  const scheduled = await alice.v1.statuses.create({ status: "Scheduled from masto.js", scheduledAt: at.toISOString() });
  expect(scheduled.scheduledAt && scheduled.params, `statuses.create with scheduledAt returned ${JSON.stringify(scheduled)}`);
  expect(Math.abs(new Date(scheduled.scheduledAt) - at) < 2000, `scheduled_at is ${scheduled.scheduledAt}`);
  expect(scheduled.params.text === "Scheduled from masto.js", `params.text is ${scheduled.params.text}`);
  const listed = await alice.v1.scheduledStatuses.list();
  expect(listed.some((s) => s.id === scheduled.id), "the scheduled status is not listed");
  const one = await alice.v1.scheduledStatuses.$select(scheduled.id).fetch();
  expect(one.id === scheduled.id, "GET the scheduled status failed");
}

async function notifications() {
  const { alice, bob, aliceAccount, bobAccount, imageStatus } = state;
  await bob.v1.statuses.$select(imageStatus.id).favourite();
  await bob.v1.accounts.$select(aliceAccount.id).follow();
  const mention = await bob.v1.statuses.create({ status: `@${aliceAccount.username} hello from masto.js` });
  const wanted = ["favourite", "follow", "mention"];
  const deadline = Date.now() + 5000;
  let byType = {};
  for (;;) {
    const listed = await alice.v1.notifications.list({ limit: 30 });
    byType = Object.fromEntries(listed.filter((n) => n.account.id === bobAccount.id).map((n) => [n.type, n]));
    if (wanted.every((t) => t in byType) || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(wanted.every((t) => t in byType), `notifications from the second account: ${Object.keys(byType).sort()}, not ${wanted}`);
  expect(byType.favourite.status?.id === imageStatus.id, "the favourite notification's status");
  expect(byType.mention.status?.id === mention.id, "the mention notification's status");
  const only = await alice.v1.notifications.list({ types: ["mention"] });
  expect(only.every((n) => n.type === "mention") && only.length > 0, `types[]=mention gave ${only.map((n) => n.type)}`);
  const one = await alice.v1.notifications.$select(byType.follow.id).fetch();
  expect(one.type === "follow", `GET one notification gave ${one.type}`);
}

async function within(ms, promise, message) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new StepFailed(`${message} within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function streamUpdate() {
  const { alice, bob, bobAccount } = state;
  const instance = await alice.v2.instance.fetch();
  const streamingApiUrl = instance.configuration?.urls?.streaming;
  expect(streamingApiUrl, `v2 instance has no configuration.urls.streaming: ${JSON.stringify(instance.configuration)}`);
  const streaming = createStreamingAPIClient({ streamingApiUrl, accessToken: state.aliceToken, retry: 3, log: "error" });
  try {
    await within(STREAM_WAIT_MS, streaming.prepare(), `the WebSocket to ${streamingApiUrl} did not open`);
    const subscription = streaming.user.subscribe();
    const events = subscription[Symbol.asyncIterator]();
    // The first `next()` sends the subscribe message; the protocol has no acknowledgement,
    // so the post waits a moment for the message to reach the server.
    const first = events.next();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const posted = await bob.v1.statuses.create({ status: "A status for the stream, from masto.js" });
    const seen = [];
    const deadline = Date.now() + STREAM_WAIT_MS;
    let pending = first;
    for (;;) {
      const left = deadline - Date.now();
      const result = await Promise.race([
        pending,
        new Promise((resolve) => setTimeout(() => resolve({ timeout: true }), Math.max(left, 0))),
      ]);
      if (result.timeout) {
        throw new StepFailed(`no \`update\` for ${posted.id} within ${STREAM_WAIT_MS / 1000} s (events: ${JSON.stringify(seen)})`);
      }
      if (result.done) throw new StepFailed(`the stream ended (events: ${JSON.stringify(seen)})`);
      const event = result.value;
      seen.push({ event: event.event, stream: event.stream, id: event.payload?.id ?? event.payload });
      if (event.event === "update" && event.payload?.id === posted.id) {
        expect(event.payload.account?.id === bobAccount.id, "the update's account");
        break;
      }
      pending = events.next();
    }
  } finally {
    streaming.close();
  }
}

/** Signing out: the app revokes its token (`POST /oauth/revoke`), which then stops working. */
async function revoke() {
  const { bob, bobApp } = state;
  await createOAuthAPIClient({ url: BASE_URL, timeout: 15_000 }).revoke({
    clientId: bobApp.clientId,
    clientSecret: bobApp.clientSecret,
    token: state.bobToken,
  });
  try {
    await bob.v1.accounts.verifyCredentials();
  } catch (error) {
    expect(error?.statusCode === 401, `after revoking, verify_credentials failed with ${describe(error)}`);
    return;
  }
  throw new StepFailed("the revoked token still works");
}

async function main() {
  expect(ACCOUNTS.length >= 2, "FLOW_ACCOUNTS needs two accounts");
  console.log(`masto.js against ${BASE_URL}`);
  await step("sign in through the authorize page with PKCE (first account)", () => signIn(ACCOUNTS[0], "alice"));
  await step("sign in through the authorize page with PKCE (second account)", () => signIn(ACCOUNTS[1], "bob"));
  if (!state.alice || !state.bob) {
    console.log("FAILED: cannot go on without signing in");
    return 1;
  }
  await step("post a status with an image", postWithImage);
  await step("read and page the home timeline", pageHomeTimeline);
  await step("favourite", favourite);
  await step("follow and unfollow", followAndUnfollow);
  await step("search", search);
  await step("schedule a status", schedule);
  await step("notifications", notifications);
  await step("an update from the user stream", streamUpdate);
  await step("revoke the token", revoke);
  if (failures.length > 0) {
    console.log(`FAILED: ${failures.length} step(s): ${failures.join(", ")}`);
    return 1;
  }
  console.log("PASS: masto.js");
  return 0;
}

process.exitCode = await main();
// The stream's reconnection timers must not keep Node alive.
process.exit(process.exitCode);
