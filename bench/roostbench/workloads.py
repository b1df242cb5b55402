"""The data the scenarios rotate through: the workload sizes, the small workload built
through the API (users register, log in, follow each other and post), the large one
written by `roost seed` and sampled through the API (logins, post ids, tags, deep feed
cursors), the viewers who block or mute many accounts, the scenario keys, and one request
file per scenario for bench/scenario.lua."""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import random
import threading
import time
import urllib.parse
from pathlib import Path

from .common import BenchError, log
from .server import Server


API = "/api/v1"
PASSWORD = "bench-password-1"
SEED_PASSWORD = "seed-password"

# The workloads. `small` is the issue's: 200 users who each follow 20 others and wrote 10
# posts, about half with hashtags, all through the API. `large` is `roost seed` with 10,000
# users, 100 follows each and 1,000,000 posts. Smoke mode shrinks both to seconds.
# `hidden` is how many accounts the viewer of `feed_blocking` blocks and the viewer of
# `feed_muting` mutes.
WORKLOADS = {
    "small": {"users": 200, "follows": 20, "posts": 10, "hidden": 1000},
    "large": {"users": 10_000, "follows": 100, "posts": 100, "likes": 50,
              "sample": 100, "deep_page": 100, "deep_tokens": 32, "hidden": 1000},
}
SMOKE_WORKLOADS = {
    "small": {"users": 12, "follows": 4, "posts": 3, "hidden": 30},
    "large": {"users": 300, "follows": 10, "posts": 20, "likes": 5,
              "sample": 8, "deep_page": 5, "deep_tokens": 4, "hidden": 30},
}

TAGS = ["rust", "coffee", "birds", "morning", "music", "travel", "books", "running",
        "photography", "garden", "cooking", "cycling", "science", "art", "hiking",
        "weekend", "cats", "rain", "code", "sunset"]
WORDS = ("the a river light quiet morning walk found small bright old new city road "
         "over under with after before slow fast green blue cold warm window garden "
         "bread letter story night market bridge station harbour field forest song "
         "paper coffee train cloud stone").split()
FIRST_NAMES = ["Ada", "Alan", "Grace", "Linus", "Barbara", "Dennis", "Margaret", "Ken",
               "Frances", "Edsger", "Radia", "Donald", "Hedy", "John", "Karen", "Niklaus",
               "Sophie", "Tim", "Mary", "Guido"]
LAST_NAMES = ["Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Ritchie", "Hamilton",
              "Thompson", "Allen", "Dijkstra", "Perlman", "Knuth", "Lamarr", "Backus",
              "Jones", "Wirth", "Wilson", "Lee", "Shaw", "Rossum"]

# Scenario keys, in the order they run and appear. Each `masto_*` scenario is the
# Mastodon-compatible API's equivalent of the Roost scenario before it, measured right
# after it on the same data (see MASTODON). `feed_deep` exists for the large
# workload only (the small feeds are about 11 pages long). `feed_blocking` and
# `feed_muting` come after the read scenarios, whose figures their set-up would change
# (blocks hide posts and users, the accounts registered for them make user search
# longer), and before `create_post`, which adds posts: their viewers' feeds are read from
# the same posts as `feed`.
SCENARIOS = ["healthz", "me", "masto_me", "post", "masto_status", "feed", "masto_home",
             "feed_deep", "tag", "search", "feed_blocking", "feed_muting", "create_post",
             "login"]

# The scenarios sent to the Mastodon-compatible listener (ROOST_MASTODON_BIND), each with
# the Roost scenario it is compared with: the same tokens, posts and page size.
MASTODON = {"masto_me": "me", "masto_status": "post", "masto_home": "feed"}
# The Mastodon ids' clock starts at 2000-01-01T00:00:00Z (src/db/ids.rs).
MASTODON_EPOCH_MS = 946_684_800_000

# The privacy scenarios: scenario -> (the `/me/...` collection its viewer fills, the
# viewer's index among the workload's tokens). Each measures its viewer's home feed.
PRIVACY = {"feed_blocking": ("blocks", 0), "feed_muting": ("mutes", 1)}
VERBS = {"blocks": ("block", "blocked"), "mutes": ("mute", "muted")}


# ---------------------------------------------------------------------------------------
# Talking to the API

class Client:
    """A small JSON-over-HTTP client, one keep-alive connection per thread."""

    def __init__(self, port: int):
        self.port = port
        self.local = threading.local()

    def call(self, method: str, path: str, token: str | None = None, body=None,
             expect: tuple[int, ...] = (200,)):
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            connection = getattr(self.local, "connection", None)
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                self.local.connection = connection
            try:
                connection.request(method, path, body=data, headers=headers)
                response = connection.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, OSError):
                connection.close()
                self.local.connection = None
                if attempt:
                    raise
        if response.status not in expect:
            raise BenchError(f"{method} {path} answered {response.status}: {raw[:300]!r}")
        return json.loads(raw) if raw else None


def mastodon_id(uuid: str) -> str:
    """The Mastodon id of a Roost id (a UUIDv7), as `ids::number` in src/db/ids.rs computes
    it: (milliseconds since 2000-01-01) << 21 | rand_a << 9 | the first 9 bits of rand_b."""
    bits = int(uuid.replace("-", ""), 16)
    millis = bits >> 80
    rand_a = (bits >> 64) & 0xFFF
    rand_b_head = (bits >> 53) & 0x1FF
    time_part = max(millis - MASTODON_EPOCH_MS, 0) & ((1 << 42) - 1)
    return str((time_part << 21) | (rand_a << 9) | rand_b_head)


def parallel(function, items, workers: int = 4) -> list:
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(function, items))


# ---------------------------------------------------------------------------------------
# Workloads: each returns the data the scenarios rotate through.

def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def post_content(rng: random.Random, tags: list[str]) -> str:
    text = sentence(rng, rng.randint(4, 14)).capitalize()
    if rng.random() < 0.5:
        text += " " + " ".join("#" + tag for tag in rng.sample(tags, rng.randint(1, 3)))
    return text


def build_small(client: Client, sizes: dict) -> dict:
    """The issue's workload, through the API: register and log in every user, follow,
    post; keeps tokens, post ids, tags and search terms."""
    rng = random.Random(42)
    count = sizes["users"]
    users = []
    for i in range(count):
        first, last = FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[(i * 7) % len(LAST_NAMES)]
        users.append({"username": f"{first.lower()}_{last.lower()}_{i}",
                      "display_name": f"{first} {last}",
                      "email": f"user{i}@bench.example"})

    def join(user) -> str:
        client.call("POST", f"{API}/auth/register", body={
            "email": user["email"], "password": PASSWORD, "username": user["username"]},
            expect=(201,))
        token = client.call("POST", f"{API}/auth/login",
                            body={"email": user["email"], "password": PASSWORD})["token"]
        client.call("PATCH", f"{API}/me", token=token,
                    body={"display_name": user["display_name"]})
        return token

    log(f"registering {count} users")
    tokens = parallel(join, users)

    follows = []
    for i in range(count):
        for j in rng.sample([j for j in range(count) if j != i], sizes["follows"]):
            follows.append((tokens[i], users[j]["username"]))
    log(f"{len(follows)} follows")
    parallel(lambda f: client.call("PUT", f"{API}/me/following/{f[1]}", token=f[0],
                                   expect=(204,)), follows)

    posts = [(tokens[i], post_content(rng, TAGS)) for i in range(count)
             for _ in range(sizes["posts"])]
    log(f"{len(posts)} posts")
    created = parallel(lambda p: client.call("POST", f"{API}/posts", token=p[0],
                                             body={"content": p[1]}, expect=(201,)), posts)
    terms = sorted({name.lower() for name in FIRST_NAMES + LAST_NAMES}
                   | {user["username"][:4] for user in users})
    return {
        "tokens": tokens,
        "credentials": [(user["email"], PASSWORD) for user in users],
        "post_ids": [post["id"] for post in created],
        "tags": sorted({tag for post in created for tag in post["tags"]}) or TAGS,
        "terms": terms,
        "usernames": [user["username"] for user in users],
        "dataset": {"users": count, "follows": len(follows), "posts": len(created)},
    }


def seed_large(server: Server, sizes: dict) -> dict:
    log(f"roost seed: {sizes['users']} users, {sizes['follows']} follows and "
        f"{sizes['posts']} posts each")
    started = time.perf_counter()
    out = server.command("seed", "--users", str(sizes["users"]),
                         "--follows-per-user", str(sizes["follows"]),
                         "--posts-per-user", str(sizes["posts"]),
                         "--likes-per-user", str(sizes["likes"]),
                         "--seed", "42", "--password", SEED_PASSWORD)
    elapsed = time.perf_counter() - started
    log(out.strip().splitlines()[0] if out.strip() else "seeded")
    return {"seed_seconds": round(elapsed, 1),
            "dataset": {"users": sizes["users"], "follows": sizes["users"] * sizes["follows"],
                        "posts": sizes["users"] * sizes["posts"],
                        "likes": sizes["users"] * sizes["likes"]}}


def prepare_large(client: Client, sizes: dict) -> dict:
    """Logs in a sample of seeded users (every account's password is the seed password),
    collects post ids and tags from their feeds and walks cursors to a deep feed page."""
    users = []
    cursor = None
    while True:
        path = f"{API}/users?limit=100" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        page = client.call("GET", path)
        users.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    step = max(1, len(users) // sizes["sample"])
    sample = users[::step][:sizes["sample"]]
    log(f"logging in {len(sample)} of {len(users)} seeded users")
    credentials = [(f"{user['username']}@seed.example", SEED_PASSWORD) for user in sample]
    tokens = parallel(lambda c: client.call("POST", f"{API}/auth/login", body={
        "email": c[0], "password": c[1]})["token"], credentials, workers=2)

    first_pages = parallel(lambda token: client.call("GET", f"{API}/feed", token=token), tokens)
    post_ids = [post["id"] for page in first_pages for post in page["items"]]
    tags = sorted({tag for page in first_pages for post in page["items"] for tag in post["tags"]})

    deep = sizes["deep_page"]

    def walk(pair):
        token, page = pair
        for _ in range(deep - 2):
            if not page["next_cursor"]:
                return None
            page = client.call("GET", f"{API}/feed?cursor={urllib.parse.quote(page['next_cursor'])}",
                               token=token)
        return (token, page["next_cursor"]) if page["next_cursor"] else None

    log(f"walking {sizes['deep_tokens']} feeds to page {deep}")
    deep_cursors = [c for c in parallel(walk, list(zip(tokens, first_pages))[:sizes["deep_tokens"]])
                    if c]
    if not deep_cursors:
        raise BenchError(f"no sampled feed reaches page {deep}")
    terms = sorted({word.lower() for user in sample for word in user["display_name"].split()}
                   | {user["username"][:4] for user in sample})
    return {
        "tokens": tokens,
        "credentials": credentials,
        "post_ids": post_ids,
        "tags": tags or ["rust"],
        "terms": terms,
        "deep_cursors": deep_cursors,
        "usernames": [user["username"] for user in users],
    }


def all_pages(client: Client, path: str, token: str | None = None) -> list[dict]:
    """Every item of a list endpoint, following `next_cursor` at 100 a page."""
    items = []
    cursor = None
    separator = "&" if "?" in path else "?"
    while True:
        page = client.call("GET", f"{path}{separator}limit=100"
                           + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else ""),
                           token=token)
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return items


def put(client: Client, viewer: dict, target: str, first: bool = False) -> None:
    """`viewer` blocks or mutes `target` (PUT /me/blocks/{target} or /me/mutes/{target});
    the error of the `first` one asks whether the server has the endpoint at all."""
    try:
        client.call("PUT", f"{API}/me/{viewer['kind']}/{target}", token=viewer["token"],
                    expect=(204,))
    except BenchError as error:
        hint = f" (does this server implement /me/{viewer['kind']}?)" if first else ""
        raise BenchError(f"{viewer['username']} could not {VERBS[viewer['kind']][0]} "
                         f"{target}{hint}: {error}") from None


def prepare_privacy(client: Client, data: dict, sizes: dict, scenarios: list[str]) -> dict:
    """Sets up the viewers of the privacy `scenarios` through the API: the viewer of each
    (one of the workload's logged-in users, see PRIVACY) blocks, or mutes, `hidden`
    accounts that it does not follow (blocking removes follows): users of the dataset
    other than the viewers, picked at random, then, when the dataset has too few, accounts
    registered for this. Its feed then holds the same posts as before, which is checked.
    Raises BenchError naming the request that failed."""
    wanted = sizes["hidden"]
    rng = random.Random(13)
    viewers = {}
    for scenario in scenarios:
        kind, index = PRIVACY[scenario]
        token = data["tokens"][index]
        viewers[scenario] = {
            "kind": kind,
            "token": token,
            "username": client.call("GET", f"{API}/me", token=token)["username"],
            "following": {user["username"]
                          for user in all_pages(client, f"{API}/me/following", token)},
            "feed": [post["id"] for post in
                     client.call("GET", f"{API}/feed", token=token)["items"]],
        }
    names = {viewer["username"] for viewer in viewers.values()}
    for viewer in viewers.values():
        candidates = [name for name in data["usernames"]
                      if name not in names and name not in viewer["following"]]
        viewer["targets"] = rng.sample(candidates, min(wanted, len(candidates)))
    shortfall = max((wanted - len(viewer["targets"]) for viewer in viewers.values()),
                    default=0)

    # Each viewer's first block or mute alone and before any account is registered, so
    # that a server without the endpoint fails at once with one clear message.
    for viewer in viewers.values():
        if viewer["targets"]:
            put(client, viewer, viewer["targets"][0], first=True)

    extras = [f"hidden_account_{i}" for i in range(shortfall)]
    if extras:
        log(f"registering {len(extras)} accounts to block and mute (the dataset has "
            f"{len(data['usernames'])} users)")
        parallel(lambda name: client.call("POST", f"{API}/auth/register", body={
            "email": f"{name}@privacy.bench.example", "password": PASSWORD,
            "username": name}, expect=(201,)), extras)
    requests = []
    for viewer in viewers.values():
        viewer["from_dataset"] = len(viewer["targets"])
        viewer["targets"] += extras[:wanted - len(viewer["targets"])]
        requests += [(viewer, target) for target in viewer["targets"][1:]]
        if not viewer["from_dataset"] and viewer["targets"]:
            # A dataset without a single user to spare: the first is a registered one.
            put(client, viewer, viewer["targets"][0], first=True)
    log(", ".join(f"{viewer['username']} {VERBS[viewer['kind']][0]}s "
                  f"{len(viewer['targets'])} accounts" for viewer in viewers.values()))
    parallel(lambda r: put(client, r[0], r[1]), requests, workers=8)

    summary = {}
    for scenario, viewer in viewers.items():
        past = VERBS[viewer["kind"]][1]
        listed = all_pages(client, f"{API}/me/{viewer['kind']}", viewer["token"])
        if len(listed) != len(viewer["targets"]):
            raise BenchError(f"{viewer['username']} {past} {len(viewer['targets'])} accounts, "
                             f"but GET /me/{viewer['kind']} lists {len(listed)}")
        feed = [post["id"] for post in
                client.call("GET", f"{API}/feed", token=viewer["token"])["items"]]
        if feed != viewer["feed"]:
            raise BenchError(f"the first page of {viewer['username']}'s home feed changed "
                             f"when it {past} accounts that it does not follow")
        summary[scenario] = {"viewer": viewer["username"], "kind": viewer["kind"],
                             "accounts": len(viewer["targets"]),
                             "from_dataset": viewer["from_dataset"],
                             "registered": len(viewer["targets"]) - viewer["from_dataset"],
                             "following": len(viewer["following"])}
    return {"registered": len(extras), **summary}


def check_mastodon(roost: Client, mastodon: Client, data: dict) -> dict:
    """Checks, before the `masto_*` scenarios, that the Mastodon-compatible listener serves
    the same account, post and home timeline as Roost's API under Mastodon ids computed by
    `mastodon_id`: the first token's `verify_credentials` is its `/me`, the first post
    read as a status has the computed id, and the first page of the home timeline holds
    the posts of the first page of Roost's home feed, in the same order. Raises BenchError
    naming the mismatch."""
    token = data["tokens"][0]
    me = roost.call("GET", f"{API}/me", token=token)
    account = mastodon.call("GET", f"{API}/accounts/verify_credentials", token=token)
    if account.get("id") != mastodon_id(me["id"]) or account.get("username") != me["username"]:
        raise BenchError(f"verify_credentials names {account.get('username')!r} with id "
                         f"{account.get('id')!r}, expected {me['username']!r} with id "
                         f"{mastodon_id(me['id'])} (the number of {me['id']})")
    post_id = data["post_ids"][0]
    status = mastodon.call("GET", f"{API}/statuses/{mastodon_id(post_id)}", token=token)
    if status.get("id") != mastodon_id(post_id):
        raise BenchError(f"GET /api/v1/statuses/{mastodon_id(post_id)} (post {post_id}) "
                         f"answered status {status.get('id')!r}")
    feed = [post["id"] for post in roost.call("GET", f"{API}/feed", token=token)["items"]]
    home = [status["id"] for status in
            mastodon.call("GET", f"{API}/timelines/home", token=token)]
    if home != [mastodon_id(post) for post in feed]:
        raise BenchError(f"the home timeline's first page ({len(home)} statuses: "
                         f"{home[:3]} …) is not Roost's first feed page ({len(feed)} posts: "
                         f"{[mastodon_id(post) for post in feed[:3]]} …)")
    return {"account": account["id"], "status": status["id"], "home_page": len(home)}


def request_files(data: dict, workdir: Path, rng: random.Random) -> dict[str, Path]:
    """Writes one request file per scenario (METHOD, path, token, body; tab-separated)."""
    tokens = data["tokens"]
    posts = rng.sample(data["post_ids"], len(data["post_ids"]))

    def token(i: int) -> str:
        return tokens[i % len(tokens)]

    def quote(text: str) -> str:
        return urllib.parse.quote(text, safe="")

    lines: dict[str, list[str]] = {
        "healthz": ["GET\t/healthz\t\t"],
        "me": [f"GET\t{API}/me\t{t}\t" for t in tokens],
        "feed": [f"GET\t{API}/feed\t{t}\t" for t in tokens],
        "post": [f"GET\t{API}/posts/{pid}\t{token(i)}\t" for i, pid in enumerate(posts)],
        "tag": [f"GET\t{API}/tags/{quote(tag)}/posts\t{token(i)}\t"
                for i, tag in enumerate(data["tags"] * max(1, 64 // len(data["tags"])))],
        "search": [f"GET\t{API}/users?q={quote(term)}\t{token(i)}\t"
                   for i, term in enumerate(data["terms"])],
        "create_post": [f"POST\t{API}/posts\t{token(i)}\t"
                        + json.dumps({"content": post_content(rng, data["tags"])})
                        for i in range(max(256, len(tokens)))],
        "login": [f"POST\t{API}/auth/login\t\t" + json.dumps({"email": e, "password": p})
                  for e, p in data["credentials"]],
    }
    for name, (_, index) in PRIVACY.items():
        if index < len(tokens):
            lines[name] = [f"GET\t{API}/feed\t{tokens[index]}\t"]
    # The Mastodon-compatible equivalents of `me`, `post` and `feed`: the same tokens,
    # the same posts in the same order (under their Mastodon ids), the same page size (20).
    lines["masto_me"] = [f"GET\t{API}/accounts/verify_credentials\t{t}\t" for t in tokens]
    lines["masto_status"] = [f"GET\t{API}/statuses/{mastodon_id(pid)}\t{token(i)}\t"
                             for i, pid in enumerate(posts)]
    lines["masto_home"] = [f"GET\t{API}/timelines/home\t{t}\t" for t in tokens]
    if data.get("deep_cursors"):
        lines["feed_deep"] = [f"GET\t{API}/feed?cursor={quote(c)}\t{t}\t"
                              for t, c in data["deep_cursors"]]
    files = {}
    for name, content in lines.items():
        path = workdir / f"{name}.tsv"
        path.write_text("\n".join(content) + "\n")
        files[name] = path
    return files
