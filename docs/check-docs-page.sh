#!/usr/bin/env bash
# Checks that the interactive documentation page renders in a real browser: starts the
# debug binary on a throwaway SQLite database and a free loopback port, loads /api/docs in
# headless Chromium and fails unless the page lists every operation of the OpenAPI
# document. Chromium may reach loopback only: every host name but 127.0.0.1 fails to
# resolve, and background services are off.
#
#   bash docs/check-docs-page.sh                      # uses target/debug/roost, builds it if missing
#   ROOST_DOCS_SCREENSHOT=docs.png bash docs/check-docs-page.sh   # also saves a screenshot
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
cleanup() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Port 0: the OS picks a free port, which the server logs once it listens.
ROOST_DATABASE_URL="sqlite://$work/roost.db" \
    ROOST_MEDIA_DIR="$work/media" \
    ROOST_BIND=127.0.0.1:0 \
    ROOST_MASTODON_BIND=off \
    ROOST_LOG_FORMAT=json \
    RUST_LOG=info \
    "$binary" serve >"$work/server.log" 2>&1 &
server=$!

address=""
for _ in $(seq 100); do
    address="$(sed -n 's/.*"message":"serving".*"address":"\([^"]*\)".*/\1/p' "$work/server.log" | head -n 1)"
    [ -n "$address" ] && break
    if ! kill -0 "$server" 2>/dev/null; then
        cat "$work/server.log" >&2
        echo "error: the server exited before serving" >&2
        exit 1
    fi
    sleep 0.1
done
if [ -z "$address" ]; then
    cat "$work/server.log" >&2
    echo "error: the server did not start serving within 10 s" >&2
    exit 1
fi
url="http://$address/api/docs"

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
    --virtual-time-budget=15000
)

echo "== rendering $url in $(chromium --version 2>/dev/null | head -n 1)"
chromium "${chromium_flags[@]}" --dump-dom "$url" >"$work/page.html" 2>"$work/chromium.log" || {
    cat "$work/chromium.log" >&2
    echo "error: chromium failed" >&2
    exit 1
}
if [ -n "${ROOST_DOCS_SCREENSHOT:-}" ]; then
    chromium "${chromium_flags[@]}" --window-size=1280,2400 \
        --screenshot="$(realpath -m "$ROOST_DOCS_SCREENSHOT")" "$url" 2>>"$work/chromium.log"
fi

"$binary" openapi >"$work/openapi.json"
python3 - "$work/openapi.json" "$work/page.html" <<'EOF'
import html
import json
import re
import sys

document = json.load(open(sys.argv[1]))
page = open(sys.argv[2], encoding="utf-8").read()
methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
operations = [
    (method, path, operation)
    for path, item in document["paths"].items()
    for method, operation in item.items()
    if method in methods
]
# Each operation is an `opblock opblock-<method>` element holding its path in `data-path`.
rendered = set(
    (method, html.unescape(path))
    for method, path in re.findall(
        r'class="opblock opblock-(get|put|post|delete|patch|head|options|trace)\b.*?data-path="([^"]*)"',
        page,
        flags=re.S,
    )
)
text = html.unescape(re.sub(r"<[^>]+>", " ", page))

problems = []
if "Failed to load API definition" in text:
    problems.append("the page says it failed to load the API definition")
if len(rendered) < len(operations):
    problems.append(f"{len(rendered)} operations rendered, the document has {len(operations)}")
missing = [f"{m.upper()} {p}" for m, p, _ in operations if (m, p) not in rendered]
if missing:
    problems.append("operations not on the page: " + ", ".join(missing[:10]))
for summary in ["Create an account", "Create a post", "Upload an image", "Schedule a post", "Your home feed"]:
    if summary not in text:
        problems.append(f"the summary {summary!r} is not on the page")
if problems:
    print("error: /api/docs does not render the API:", *problems, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"ok: /api/docs lists all {len(operations)} operations of the document")
EOF
