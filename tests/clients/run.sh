#!/usr/bin/env bash
# Real Mastodon client libraries against a real server: Mastodon.py (PyPI) and masto.js (npm,
# the `masto` package), at the versions pinned in tests/clients/requirements.txt and
# tests/clients/package-lock.json, drive Roost's Mastodon-compatible API the way apps do.
#
#   bash tests/clients/run.sh [--db sqlite|postgres|both]     # default: both
#
# The libraries are installed once into ${CARGO_TARGET_DIR:-target}/clients/ (a venv and an
# npm project, reinstalled when the pins change). For each database the script starts the
# debug binary (built if missing) on loopback ports the OS picks, with a fresh SQLite file or
# a fresh PostgreSQL database `roost_clients_<random>` (created on the server of
# ROOST_TEST_POSTGRES_URL, dropped afterwards), registers two accounts per library through
# Roost's own API, then runs mastodon_py_flow.py and masto_js_flow.mjs: each signs in through
# the OAuth authorize page, posts with an image, pages the home timeline, favourites,
# follows and unfollows, searches, schedules a status, reads notifications and receives an
# `update` from the stream. Any failure, a missing tool or an unreachable database included,
# fails the run; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."

databases=both
while [ $# -gt 0 ]; do
    case "$1" in
        --db)
            databases="${2:-}"
            shift 2 || { echo "error: --db needs sqlite, postgres or both" >&2; exit 2; }
            ;;
        --db=*)
            databases="${1#--db=}"
            shift
            ;;
        -h | --help)
            sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "error: unknown argument $1 (usage: run.sh [--db sqlite|postgres|both])" >&2
            exit 2
            ;;
    esac
done
case "$databases" in
    sqlite) databases=(sqlite) ;;
    postgres) databases=(postgres) ;;
    both) databases=(sqlite postgres) ;;
    *)
        echo "error: --db must be sqlite, postgres or both, not '$databases'" >&2
        exit 2
        ;;
esac

for tool in python3 node npm curl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: $tool is required and missing" >&2
        exit 1
    fi
done
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
    echo "error: Node.js 20 or later is required (found $(node --version))" >&2
    exit 1
fi

postgres_url="${ROOST_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
target_dir="${CARGO_TARGET_DIR:-target}"
binary="$target_dir/debug/roost"
clients="$target_dir/clients"
here=tests/clients

if [ ! -x "$binary" ]; then
    echo "== building $binary"
    cargo build --locked --bin roost
fi

# --- the libraries, installed from their registries at the pinned versions ---------------

# The lockfile must name every package with a tarball on registry.npmjs.org.
if grep -n '"resolved"' "$here/package-lock.json" | grep -v '"https://registry\.npmjs\.org/' >&2; then
    echo "error: $here/package-lock.json resolves packages outside registry.npmjs.org" >&2
    exit 1
fi
locked="$(grep -c '"node_modules/' "$here/package-lock.json" || true)"
resolved="$(grep -c '"resolved": "https://registry\.npmjs\.org/' "$here/package-lock.json" || true)"
if [ "$locked" -ne "$resolved" ]; then
    echo "error: $here/package-lock.json: $locked packages but $resolved registry.npmjs.org tarballs" >&2
    exit 1
fi

venv="$clients/venv"
if ! cmp -s "$here/requirements.txt" "$venv/installed-requirements.txt"; then
    echo "== installing $(grep -i '^mastodon' "$here/requirements.txt") into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input \
        --only-binary :all: -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$venv/installed-requirements.txt"
fi

npm_dir="$clients/npm"
if ! cmp -s "$here/package-lock.json" "$npm_dir/package-lock.json" \
    || ! cmp -s "$here/package.json" "$npm_dir/package.json" \
    || [ ! -f "$npm_dir/node_modules/masto/package.json" ]; then
    echo "== installing masto@$(sed -n 's/.*"masto": "\(.*\)".*/\1/p' "$here/package.json") into $npm_dir"
    rm -rf "$npm_dir"
    mkdir -p "$npm_dir"
    cp "$here/package.json" "$here/package-lock.json" "$npm_dir/"
    (cd "$npm_dir" && npm ci --registry=https://registry.npmjs.org/ --ignore-scripts \
        --no-audit --no-fund --loglevel=error)
fi
# The flow runs from the npm project so that `import … from "masto"` resolves there.
cp "$here/masto_js_flow.mjs" "$npm_dir/masto_js_flow.mjs"

echo "== Mastodon.py $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("Mastodon.py"))'), masto $(node -p "require('./$npm_dir/node_modules/masto/package.json').version")"

# --- one run per database ------------------------------------------------------------------

work="$(mktemp -d)"
server=""
database_to_drop=""
cleanup() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
        server=""
    fi
    if [ -n "$database_to_drop" ]; then
        psql "$postgres_url" -q -v ON_ERROR_STOP=1 \
            -c "DROP DATABASE IF EXISTS $database_to_drop WITH (FORCE)" >/dev/null || true
        database_to_drop=""
    fi
}
trap 'cleanup; rm -rf "$work"' EXIT

# wait_for_log FILE SED-EXPRESSION WHAT: prints the first match of the expression in the
# server's log, waiting up to 30 s; fails if the server exits first.
wait_for_log() {
    local found=""
    for _ in $(seq 300); do
        found="$(sed -n "$2" "$1" | head -n 1)"
        if [ -n "$found" ]; then
            echo "$found"
            return 0
        fi
        if ! kill -0 "$server" 2>/dev/null; then
            tail -n 30 "$1" >&2
            echo "error: the server exited before serving $3" >&2
            return 1
        fi
        sleep 0.1
    done
    tail -n 30 "$1" >&2
    echo "error: the server did not serve $3 within 30 s" >&2
    return 1
}

# register API USERNAME: creates an account through Roost's own API.
register() {
    local status
    status="$(curl -sS -o "$work/register.json" -w '%{http_code}' -X POST "$1/api/v1/auth/register" \
        -H 'Content-Type: application/json' \
        -d "{\"email\": \"$2@example.org\", \"username\": \"$2\", \"password\": \"correct horse $2\"}")"
    if [ "$status" != 201 ]; then
        echo "error: registering $2 answered $status: $(cat "$work/register.json")" >&2
        return 1
    fi
}

accounts_json() {
    printf '[{"username": "%s", "email": "%s@example.org", "password": "correct horse %s"},' "$1" "$1" "$1"
    printf ' {"username": "%s", "email": "%s@example.org", "password": "correct horse %s"}]' "$2" "$2" "$2"
}

failed=()
for db in "${databases[@]}"; do
    echo "== Mastodon.py and masto.js on $db"
    run="$work/$db"
    mkdir -p "$run"
    if [ "$db" = sqlite ]; then
        database_url="sqlite://$run/roost.db"
    else
        if ! command -v psql >/dev/null 2>&1; then
            echo "error: psql is required to create the PostgreSQL database" >&2
            exit 1
        fi
        name="roost_clients_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
        if ! psql "$postgres_url" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $name" >/dev/null; then
            echo "error: cannot create a database on $postgres_url (ROOST_TEST_POSTGRES_URL)" >&2
            exit 1
        fi
        database_to_drop="$name"
        # The same server and credentials, another database.
        base="${postgres_url%%\?*}"
        query=""
        [ "$base" != "$postgres_url" ] && query="?${postgres_url#*\?}"
        database_url="${base%/*}/$name$query"
    fi

    # Port 0: the OS picks free ports, which the server logs once it listens.
    ROOST_DATABASE_URL="$database_url" \
        ROOST_MEDIA_DIR="$run/media" \
        ROOST_BIND=127.0.0.1:0 \
        ROOST_MASTODON_BIND=127.0.0.1:0 \
        ROOST_ARGON2_MEMORY_KIB=64 \
        ROOST_ARGON2_ITERATIONS=1 \
        ROOST_RATE_LIMITS=off \
        ROOST_LOG_FORMAT=json \
        RUST_LOG=info \
        "$binary" serve >"$run/server.log" 2>&1 &
    server=$!
    roost_address="$(wait_for_log "$run/server.log" 's/.*"message":"serving".*"address":"\([^"]*\)".*/\1/p' "Roost's API")"
    mastodon_address="$(wait_for_log "$run/server.log" 's/.*"message":"serving the Mastodon-compatible API".*"address":"\([^"]*\)".*/\1/p' "the Mastodon-compatible API")"
    roost_api="http://$roost_address"
    mastodon_api="http://$mastodon_address"

    register "$roost_api" py_first
    register "$roost_api" py_second
    register "$roost_api" js_first
    register "$roost_api" js_second

    status=0
    FLOW_URL="$mastodon_api" FLOW_ACCOUNTS="$(accounts_json py_first py_second)" \
        "$venv/bin/python" -u "$here/mastodon_py_flow.py" || status=$?
    [ "$status" -eq 0 ] || failed+=("Mastodon.py on $db")

    status=0
    FLOW_URL="$mastodon_api" FLOW_ACCOUNTS="$(accounts_json js_first js_second)" \
        node "$npm_dir/masto_js_flow.mjs" || status=$?
    [ "$status" -eq 0 ] || failed+=("masto.js on $db")

    if ! kill -0 "$server" 2>/dev/null; then
        failed+=("the server on $db exited during the flows")
    fi
    if grep -q '"level":"ERROR"' "$run/server.log"; then
        echo "-- server errors on $db:"
        grep '"level":"ERROR"' "$run/server.log" | tail -n 20
    fi
    cleanup
done

if [ "${#failed[@]}" -gt 0 ]; then
    printf 'FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "ok: Mastodon.py and masto.js on ${databases[*]}"
