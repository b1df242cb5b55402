#!/usr/bin/env bash
# Checks that a browser page on another origin receives the stream through EventSource:
# serves docs/eventsource/ on a free loopback port (python3 -m http.server), starts the
# debug binary on a throwaway SQLite database and another free loopback port with that
# page's origin in ROOST_CORS_ORIGINS, and loads the page in headless Chromium. The page
# registers, logs in, gets a stream ticket (fetch with the Authorization header), opens
# `new EventSource(API + '/api/v1/stream?ticket=…')`, writes a post once it is open and
# waits for the `post` event with that content. Chromium is driven over its DevTools
# protocol (a websocket, from Python's standard library) until the page reports PASS or
# FAIL, or 30 s pass; the script fails unless it is PASS, and prints the page's log.
# Chromium may reach loopback only: every host name but 127.0.0.1 fails to resolve, and
# background services are off.
#
#   bash docs/check-eventsource.sh                   # uses target/debug/roost, builds it if missing
#
# Chromium is installed from Debian (`apt-get install chromium`) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

binary="${CARGO_TARGET_DIR:-target}/debug/roost"
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

work="$(mktemp -d)"
server=""
pages=""
browser=""
cleanup() {
    for pid in $browser $server $pages; do
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

# The page, on a port of its own: a different origin from the API's.
python3 -u -m http.server 0 --bind 127.0.0.1 --directory docs/eventsource \
    >"$work/pages.log" 2>&1 &
pages=$!
page_port="$(wait_for "$work/pages.log" 's/^Serving HTTP on 127\.0\.0\.1 port \([0-9]*\).*/\1/p' "$pages" "the page server")"
origin="http://127.0.0.1:$page_port"

# Port 0: the OS picks a free port, which the server logs once it listens.
ROOST_DATABASE_URL="sqlite://$work/roost.db" \
    ROOST_MEDIA_DIR="$work/media" \
    ROOST_BIND=127.0.0.1:0 \
    ROOST_MASTODON_BIND=off \
    ROOST_CORS_ORIGINS="$origin" \
    ROOST_ARGON2_MEMORY_KIB=64 \
    ROOST_ARGON2_ITERATIONS=1 \
    ROOST_LOG_FORMAT=json \
    RUST_LOG=info \
    "$binary" serve >"$work/server.log" 2>&1 &
server=$!
address="$(wait_for "$work/server.log" 's/.*"message":"serving".*"address":"\([^"]*\)".*/\1/p' "$server" "the server")"
api="http://$address"
url="$origin/index.html?api=$api"

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
    --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
    --user-data-dir="$work/chromium"
    --remote-debugging-address=127.0.0.1
    --remote-debugging-port=0
)

echo "== EventSource from $origin to $api in $(chromium --version 2>/dev/null | head -n 1)"
chromium "${chromium_flags[@]}" "$url" >"$work/chromium.log" 2>&1 &
browser=$!

# The DevTools protocol by hand: Chromium writes its port to DevToolsActivePort, /json/list
# names the page's websocket, and Runtime.evaluate reads the page's result every 200 ms.
status=0
python3 - "$work/chromium/DevToolsActivePort" "$browser" 30 <<'EOF' || status=$?
import json
import sys
import time

port_file, browser_pid, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + limit
sys.path.insert(0, "docs")
from devtools import fail, page_socket  # noqa: E402


ws = page_socket(port_file, browser_pid, deadline)
EXPRESSION = ("JSON.stringify({status: document.getElementById('result') ? "
              "document.getElementById('result').dataset.status : 'loading', "
              "title: document.title, "
              "log: document.getElementById('log') ? document.getElementById('log').textContent : ''})")
request_id = 0
state = {"status": "loading", "title": "", "log": ""}
while True:
    request_id += 1
    ws.send(json.dumps({"id": request_id, "method": "Runtime.evaluate",
                        "params": {"expression": EXPRESSION, "returnByValue": True}}))
    while True:
        reply = json.loads(ws.receive())
        if reply.get("id") == request_id:
            break
    value = reply.get("result", {}).get("result", {}).get("value")
    if value:
        state = json.loads(value)
    if state["status"] in ("pass", "fail"):
        break
    if time.monotonic() > deadline:
        break
    time.sleep(0.2)

print("page log:")
print("".join(f"  {line}\n" for line in state["log"].splitlines()), end="")
if state["status"] == "pass":
    print(f"ok: {state['title'].removeprefix('PASS: ')}")
    sys.exit(0)
if state["status"] == "fail":
    fail(f"the page failed: {state['title'].removeprefix('FAIL: ')}")
fail(f"the page did not finish within {limit:.0f} s (status {state['status']!r}, "
     f"title {state['title']!r})")
EOF

if [ "$status" -ne 0 ]; then
    echo "-- server log (last 20 lines):" >&2
    tail -n 20 "$work/server.log" >&2
    echo "-- chromium log (last 20 lines, without D-Bus noise):" >&2
    grep -v -e 'dbus/' "$work/chromium.log" | tail -n 20 >&2 || true
    exit 1
fi
