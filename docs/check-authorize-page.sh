#!/usr/bin/env bash
# Checks the OAuth sign-in page of the Mastodon-compatible API in a real browser: starts the
# debug binary on a throwaway SQLite database with both APIs on free loopback ports,
# registers an account through Roost's API and an out-of-band app through
# `POST /api/v1/apps`, opens `/oauth/authorize?…` (with PKCE and a state) in headless
# Chromium, types the email address and the password into the form and presses Authorize,
# reads the code from `#code`, exchanges it at `/oauth/token`, and calls
# `GET /api/v1/apps/verify_credentials` (and `/api/v1/accounts/verify_credentials`) with
# the token. So the page works without scripts, under its own Content-Security-Policy,
# with its CSRF cookie as a browser keeps it. Screenshots of the filled form and of the
# code page are saved as `authorize-page.png` and `authorize-code.png` under
# `${CARGO_TARGET_DIR:-target}/artifacts/`. Chromium is driven over its DevTools protocol
# (a websocket, from Python's standard library) and may reach loopback only.
#
#   bash docs/check-authorize-page.sh                # uses target/debug/roost, builds it if missing
#
# Chromium is installed from Debian (`apt-get install chromium`) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
binary="$target_dir/debug/roost"
if [ ! -x "$binary" ]; then
    echo "== building $binary"
    cargo build --locked --bin roost
fi

if ! command -v chromium >/dev/null 2>&1; then
    echo "== installing chromium"
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: chromium is missing; install it (apt-get install chromium) or run as root" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

artifacts="$target_dir/artifacts"
mkdir -p "$artifacts"

work="$(mktemp -d)"
server=""
browser=""
cleanup() {
    for pid in $browser $server; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# wait_for FILE SED-EXPRESSION PID WHAT: prints the first match of the expression in FILE,
# waiting up to 10 s; fails if PID exits first.
wait_for() {
    local found=""
    for _ in $(seq 100); do
        found="$(sed -n "$2" "$1" | head -n 1)"
        if [ -n "$found" ]; then
            echo "$found"
            return 0
        fi
        if ! kill -0 "$3" 2>/dev/null; then
            cat "$1" >&2
            echo "error: $4 exited before serving" >&2
            return 1
        fi
        sleep 0.1
    done
    cat "$1" >&2
    echo "error: $4 did not start serving within 10 s" >&2
    return 1
}

# Port 0: the OS picks free ports, which the server logs once it listens.
ROOST_DATABASE_URL="sqlite://$work/roost.db" \
    ROOST_MEDIA_DIR="$work/media" \
    ROOST_BIND=127.0.0.1:0 \
    ROOST_MASTODON_BIND=127.0.0.1:0 \
    ROOST_ARGON2_MEMORY_KIB=64 \
    ROOST_ARGON2_ITERATIONS=1 \
    ROOST_LOG_FORMAT=json \
    RUST_LOG=info \
    "$binary" serve >"$work/server.log" 2>&1 &
server=$!
roost_address="$(wait_for "$work/server.log" 's/.*"message":"serving".*"address":"\([^"]*\)".*/\1/p' "$server" "the server")"
mastodon_address="$(wait_for "$work/server.log" 's/.*"message":"serving the Mastodon-compatible API".*"address":"\([^"]*\)".*/\1/p' "$server" "the Mastodon-compatible API")"

chromium_flags=(
    --headless
    --no-sandbox
    --disable-gpu
    --disable-dev-shm-usage
    --disable-background-networking
    --disable-component-update
    --disable-default-apps
    --disable-extensions
    --disable-sync
    --no-first-run
    --no-default-browser-check
    --metrics-recording-only
    --hide-scrollbars
    --window-size=720,900
    --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
    --user-data-dir="$work/chromium"
    --remote-debugging-address=127.0.0.1
    --remote-debugging-port=0
)

echo "== the authorize page of http://$mastodon_address in $(chromium --version 2>/dev/null | head -n 1)"
chromium "${chromium_flags[@]}" about:blank >"$work/chromium.log" 2>&1 &
browser=$!

status=0
python3 - "$work/chromium/DevToolsActivePort" "$browser" 30 "http://$roost_address" \
    "http://$mastodon_address" "$artifacts" <<'EOF' || status=$?
import base64
import hashlib
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

port_file, browser_pid, limit, roost, mastodon, artifacts = sys.argv[1:7]
browser_pid, limit = int(browser_pid), float(limit)
deadline = time.monotonic() + limit
sys.path.insert(0, "docs")
from devtools import fail, page_socket  # noqa: E402
EMAIL, PASSWORD, USERNAME = "heron@example.com", "correct horse battery", "heron"
OOB = "urn:ietf:wg:oauth:2.0:oob"


def http(method, url, body=None, form=None, token=None):
    """One request; returns (status, parsed JSON or None)."""
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, None


# The account and the app, over plain HTTP.
status, body = http("POST", f"{roost}/api/v1/auth/register",
                    body={"email": EMAIL, "username": USERNAME, "password": PASSWORD})
if status != 201:
    fail(f"registering the account answered {status}: {body}")
status, app = http("POST", f"{mastodon}/api/v1/apps",
                   form={"client_name": "Authorize page check", "redirect_uris": OOB,
                         "scopes": "read write", "website": "https://example.org"})
if status != 200:
    fail(f"registering the app answered {status}: {app}")
verifier = secrets.token_urlsafe(48)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
authorize_url = f"{mastodon}/oauth/authorize?" + urllib.parse.urlencode({
    "response_type": "code", "client_id": app["client_id"], "redirect_uri": OOB,
    "scope": "read write", "state": "check", "code_challenge": challenge,
    "code_challenge_method": "S256",
})

ws = page_socket(port_file, browser_pid, deadline)
request_id = 0


def call(method, **params):
    """One DevTools command; returns its result (events in between are skipped)."""
    global request_id
    request_id += 1
    ws.send(json.dumps({"id": request_id, "method": method, "params": params}))
    while True:
        reply = json.loads(ws.receive())
        if reply.get("id") == request_id:
            if "error" in reply:
                fail(f"{method}: {reply['error']}")
            return reply.get("result", {})


def evaluate(expression):
    result = call("Runtime.evaluate", expression=expression, returnByValue=True)
    return result.get("result", {}).get("value")


STATE = ("JSON.stringify({ready: document.readyState, url: location.href, "
         "form: !!document.getElementById('email'), "
         "error: document.getElementById('error') ? document.getElementById('error').textContent : null, "
         "code: document.getElementById('code') ? document.getElementById('code').textContent : null})")


def wait_until(what, done):
    while True:
        value = evaluate(STATE)
        page = json.loads(value) if value else {}
        if page.get("ready") == "complete" and done(page):
            return page
        if time.monotonic() > deadline:
            fail(f"{what} within {limit:.0f} s (last state {page})")
        time.sleep(0.1)


def screenshot(name):
    data = call("Page.captureScreenshot", format="png")["data"]
    path = os.path.join(artifacts, name)
    with open(path, "wb") as file:
        file.write(base64.b64decode(data))
    print(f"saved {path}")


call("Page.enable")
call("Page.navigate", url=authorize_url)
wait_until("the sign-in form did not load", lambda page: page.get("form"))
evaluate(f"document.getElementById('email').value = {json.dumps(EMAIL)}; "
         f"document.getElementById('password').value = {json.dumps(PASSWORD)}; true")
screenshot("authorize-page.png")
evaluate("document.getElementById('authorize').click(); true")
page = wait_until("no code was shown",
                  lambda page: page.get("code") or (page.get("error") and not page.get("form")))
if not page.get("code"):
    fail(f"the form was refused: {page.get('error')}")
code = page["code"].strip()
screenshot("authorize-code.png")
print(f"the page showed a code of {len(code)} characters")

status, token = http("POST", f"{mastodon}/oauth/token", form={
    "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
    "client_secret": app["client_secret"], "redirect_uri": OOB, "code_verifier": verifier,
})
if status != 200 or token.get("token_type") != "Bearer":
    fail(f"exchanging the code answered {status}: {token}")
access = token["access_token"]
status, verified = http("GET", f"{mastodon}/api/v1/apps/verify_credentials", token=access)
if status != 200 or verified.get("name") != "Authorize page check":
    fail(f"apps/verify_credentials answered {status}: {verified}")
status, account = http("GET", f"{mastodon}/api/v1/accounts/verify_credentials", token=access)
if status == 200:
    if account.get("username") != USERNAME:
        fail(f"accounts/verify_credentials is {account.get('username')!r}, not {USERNAME!r}")
    print(f"ok: signed in as {account['username']} through the page; the token has scope {token['scope']!r}")
elif status == 404:
    print(f"ok: signed in through the page; the token has scope {token['scope']!r} "
          "(accounts/verify_credentials is not served yet)")
else:
    fail(f"accounts/verify_credentials answered {status}: {account}")
EOF

if [ "$status" -ne 0 ]; then
    echo "-- server log (last 20 lines):" >&2
    tail -n 20 "$work/server.log" >&2
    echo "-- chromium log (last 20 lines, without D-Bus noise):" >&2
    grep -v -e 'dbus/' "$work/chromium.log" | tail -n 20 >&2 || true
    exit 1
fi
