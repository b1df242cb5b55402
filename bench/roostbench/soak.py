"""The `--soak` mode: one long mixed load (reads, writes, logins, image uploads) on the
small workload, replayed by bench/soak.lua in back-to-back wrk slices while the server's
RSS and CPU, PostgreSQL's CPU and the machine's load are sampled; the pass rules (no 5xx,
no socket error, memory that stops growing), re-applied to stored results by
`--report-only`; and the `## Soak` section of BENCHMARKS.md."""

from __future__ import annotations

import datetime
import itertools
import json
import os
import random
import re
import statistics
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

from .common import BENCH, CLOCK_TICKS, BenchError, log
from .environment import (Database, git, load_average, machine_cpu_ticks, machine_info,
                          tool_version)
from .report import REPORT_HEAD, mib, number
from .server import Server, proc_cpu_ticks, proc_rss_kib
from .workloads import API, WORKLOADS, Client, build_small, post_content, sentence


SOAK_LUA = BENCH / "soak.lua"
SOAK_BEGIN = "<!-- bench/run --soak: generated from here -->"
SOAK_END = "<!-- bench/run --soak: generated up to here -->"
# Request kinds of the soak's mix and their weights (percent of requests sent).
SOAK_MIX = {
    # reads: 75 %
    "feed": 20, "post": 14, "tag": 8, "search": 8, "me": 8, "profile": 9, "comments": 8,
    # writes: 20 %
    "create_post": 5, "like": 3, "unlike": 3, "comment": 4, "follow": 1.5,
    "unfollow": 1.5, "patch_me": 2,
    # logins (real Argon2id) and image uploads
    "login": 3, "upload": 2,
}
SOAK_READS = ("feed", "post", "tag", "search", "me", "profile", "comments")
SOAK_WRITES = ("create_post", "like", "unlike", "comment", "follow", "unfollow", "patch_me")
SOAK_SAMPLE_SECONDS = 2.0
# The memory check: the 90th percentile of the RSS samples over the last window of the run
# may exceed that over the window ending at half time by less than this fraction. RSS swings
# by tens of MiB from one sample to the next as Argon2id's 19 MiB blocks are taken and given
# back, so a window's median depends on how many hashes happened to be running when it was
# sampled; its upper percentile follows the high-water mark, which is what a leak raises.
SOAK_RSS_GROWTH_LIMIT = 0.10
SOAK_RSS_PERCENTILE = 90
SOAK_RSS_WINDOW_SECONDS = 60


# ---------------------------------------------------------------------------------------
# The request list

def png_image(width: int, height: int, shade: int) -> bytes:
    """A small valid RGB PNG (a gradient), written with zlib and struct."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + bytes(value for x in range(width)
                                     for value in (x * 255 // width, y * 255 // height, shade))
                    for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def multipart(fields: list[tuple[str, str | None, str | None, bytes]]) -> tuple[str, bytes]:
    """A multipart/form-data body from (name, filename, content type, data) parts."""
    boundary = f"roost-soak-{random.Random(len(fields)).randrange(16**12):012x}"
    body = b""
    for name, filename, content_type, data in fields:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if content_type:
            body += f"Content-Type: {content_type}\r\n".encode()
        body += b"\r\n" + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


def soak_request_file(data: dict, workdir: Path, rng: random.Random, lines: int = 4000) -> Path:
    """Writes the soak's request list: `lines` requests drawn by SOAK_MIX's weights and
    shuffled (KIND, METHOD, path, token, content type, body; tab-separated), and the
    multipart bodies of the uploads beside it. Every request is meant to succeed: likes,
    unlikes, follows and unfollows are idempotent, nobody follows themselves, PATCH /me
    changes no username, comments go to existing posts."""
    tokens, usernames = data["tokens"], data["usernames"]
    post_ids, tags, terms = data["post_ids"], data["tags"], data["terms"]
    hot = post_ids[:: max(1, len(post_ids) // 100)]  # posts that gather likes and comments
    json_type = "application/json"

    uploads = []
    for i in range(4):
        content_type, body = multipart([
            ("file", f"soak-{i}.png", "image/png", png_image(24 + 8 * i, 16 + 4 * i, 60 * i)),
            ("description", None, None, f"A soak test gradient, number {i}".encode()),
        ])
        name = f"upload-{i}.bin"
        (workdir / name).write_bytes(body)
        uploads.append((content_type, name))

    def quote(text: str) -> str:
        return urllib.parse.quote(text, safe="")

    def make(kind: str) -> list[str]:
        u = rng.randrange(len(tokens))
        token = tokens[u]
        post = rng.choice(post_ids)
        if kind == "feed":
            return ["GET", f"{API}/feed", token, "", ""]
        if kind == "post":
            return ["GET", f"{API}/posts/{post}", token, "", ""]
        if kind == "tag":
            return ["GET", f"{API}/tags/{quote(rng.choice(tags))}/posts", token, "", ""]
        if kind == "search":
            return ["GET", f"{API}/users?q={quote(rng.choice(terms))}", token, "", ""]
        if kind == "me":
            return ["GET", f"{API}/me", token, "", ""]
        if kind == "profile":
            return ["GET", f"{API}/users/{rng.choice(usernames)}", token, "", ""]
        if kind == "comments":
            return ["GET", f"{API}/posts/{rng.choice(hot)}/comments", token, "", ""]
        if kind == "create_post":
            return ["POST", f"{API}/posts", token, json_type,
                    json.dumps({"content": post_content(rng, tags)})]
        if kind in ("like", "unlike"):
            return ["PUT" if kind == "like" else "DELETE", f"{API}/posts/{rng.choice(hot)}/like",
                    token, "", ""]
        if kind == "comment":
            return ["POST", f"{API}/posts/{rng.choice(hot)}/comments", token, json_type,
                    json.dumps({"content": sentence(rng, rng.randint(3, 12)).capitalize()})]
        if kind in ("follow", "unfollow"):
            other = rng.choice([i for i in range(len(usernames)) if i != u])
            return ["PUT" if kind == "follow" else "DELETE",
                    f"{API}/me/following/{usernames[other]}", token, "", ""]
        if kind == "patch_me":
            field = rng.choice(["bio", "location", "display_name"])
            value = {"bio": sentence(rng, rng.randint(3, 20)),
                     "location": rng.choice(["Lisbon", "Oslo", "Quito", "Kyoto", ""]),
                     "display_name": " ".join(sentence(rng, 2).title().split())}[field]
            return ["PATCH", f"{API}/me", token, json_type, json.dumps({field: value})]
        if kind == "login":
            email, password = data["credentials"][u]
            return ["POST", f"{API}/auth/login", "", json_type,
                    json.dumps({"email": email, "password": password})]
        if kind == "upload":
            content_type, name = rng.choice(uploads)
            return ["POST", f"{API}/media", token, content_type, "@" + name]
        raise ValueError(kind)

    kinds = rng.choices(list(SOAK_MIX), weights=list(SOAK_MIX.values()), k=lines)
    path = workdir / "soak.tsv"
    path.write_text("\n".join("\t".join([kind, *make(kind)]) for kind in kinds) + "\n")
    return path


# ---------------------------------------------------------------------------------------
# Sampling and the pass rules

class SoakSampler(threading.Thread):
    """Every SOAK_SAMPLE_SECONDS: the server's RSS and CPU time, PostgreSQL's CPU time and
    the machine's busy time."""

    def __init__(self, pid: int, pg_database: str | None, started: float):
        super().__init__(daemon=True)
        self.pid = pid
        self.pg_database = pg_database
        # PostgreSQL processes working for our database: pid -> (ticks when first seen,
        # ticks when last seen). Backends come and go (pool connections, autovacuum
        # workers), so the total is kept per process, and other databases on the same
        # server are left out.
        self.pg_processes: dict[int, tuple[int, int]] = {}
        self.started = started
        self.samples: list[dict] = []
        self.halt = threading.Event()
        self.take()

    def pg_ticks(self) -> int:
        if not self.pg_database:
            return 0
        first_pass = not self.samples
        needle = self.pg_database.encode()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as file:
                    if not file.read().startswith(b"postgres:"):
                        continue
                with open(f"/proc/{entry}/cmdline", "rb") as file:
                    if needle not in file.read():
                        continue
                ticks = proc_cpu_ticks(int(entry))
            except (OSError, ValueError, IndexError):
                continue
            pid = int(entry)
            baseline = self.pg_processes.get(pid, (ticks if first_pass else 0, 0))[0]
            self.pg_processes[pid] = (baseline, ticks)
        return sum(last - baseline for baseline, last in self.pg_processes.values())

    def take(self) -> None:
        busy, total = machine_cpu_ticks()
        self.samples.append({
            "t": round(time.monotonic() - self.started, 2),
            "rss_kib": proc_rss_kib(self.pid),
            "cpu_ticks": proc_cpu_ticks(self.pid),
            "pg_ticks": self.pg_ticks(),
            "busy_ticks": busy, "total_ticks": total,
            "load1": load_average()[0],
        })

    def run(self) -> None:
        while not self.halt.wait(SOAK_SAMPLE_SECONDS):
            try:
                self.take()
            except OSError:
                return


def soak_slice(samples: list[dict], start: float, end: float) -> dict:
    """Memory and CPU figures over the samples between `start` and `end` seconds."""
    inside = [s for s in samples if start <= s["t"] <= end + SOAK_SAMPLE_SECONDS / 2]
    before = max((s for s in samples if s["t"] <= start), key=lambda s: s["t"], default=samples[0])
    last = inside[-1] if inside else before
    wall = max(last["t"] - before["t"], 1e-9)
    cores = (last["total_ticks"] - before["total_ticks"]) / CLOCK_TICKS / (os.cpu_count() or 1)
    server = (last["cpu_ticks"] - before["cpu_ticks"]) / CLOCK_TICKS
    pg = (last["pg_ticks"] - before["pg_ticks"]) / CLOCK_TICKS
    busy = (last["busy_ticks"] - before["busy_ticks"]) / CLOCK_TICKS
    cores = max(cores, 1e-9)
    return {
        "rss_end_kib": last["rss_kib"],
        "rss_max_kib": max((s["rss_kib"] for s in inside), default=last["rss_kib"]),
        "server_cores": round(server / cores, 2),
        "postgres_cores": round(pg / cores, 2),
        # Everything else the machine did: wrk, PostgreSQL's shared processes (WAL writer,
        # checkpointer) and other work.
        "rest_cores": round(max(busy - server - pg, 0) / cores, 2),
        "load1": last["load1"],
        "sampled_seconds": round(wall, 1),
    }


def rss_at(samples: list[dict], t: float) -> int:
    return min(samples, key=lambda s: abs(s["t"] - t))["rss_kib"]


def memory_check(samples: list[dict], total: float) -> dict:
    window = min(SOAK_RSS_WINDOW_SECONDS, total / 4)
    half = total / 2

    def between(a: float, b: float) -> list[int]:
        return [s["rss_kib"] for s in samples if a <= s["t"] <= b] or [rss_at(samples, b)]

    def percentile(values: list[int]) -> int:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(SOAK_RSS_PERCENTILE / 100 * (len(ordered) - 1)))]

    at_half, at_end = between(half - window, half), between(total - window, total)
    high_half, high_end = percentile(at_half), percentile(at_end)
    growth = (high_end - high_half) / high_half if high_half else 0.0
    # Least-squares slope over the second half, for the record.
    second = [(s["t"], s["rss_kib"]) for s in samples if s["t"] >= half]
    slope = 0.0
    if len(second) >= 2:
        mean_t = statistics.fmean(t for t, _ in second)
        mean_r = statistics.fmean(r for _, r in second)
        var = sum((t - mean_t) ** 2 for t, _ in second)
        if var:
            slope = sum((t - mean_t) * (r - mean_r) for t, r in second) / var
    return {
        "rss_start_kib": rss_at(samples, 0),
        "rss_1min_kib": rss_at(samples, min(60, total)),
        "rss_half_kib": rss_at(samples, half),
        "rss_end_kib": rss_at(samples, total),
        "rss_max_kib": max(s["rss_kib"] for s in samples),
        "window_seconds": round(window),
        "percentile": SOAK_RSS_PERCENTILE,
        "high_half_kib": high_half,
        "high_end_kib": high_end,
        "median_half_kib": int(statistics.median(at_half)),
        "median_end_kib": int(statistics.median(at_end)),
        "growth": round(growth, 4),
        "second_half_slope_kib_per_min": round(slope * 60, 1),
        "limit": SOAK_RSS_GROWTH_LIMIT,
        "passed": growth < SOAK_RSS_GROWTH_LIMIT,
    }


def soak_failures(run: dict) -> list[str]:
    failures = []
    totals = run["totals"]
    if totals["classes"]["5xx"]:
        failures.append(f"{totals['classes']['5xx']} responses 5xx")
    if totals["socket_errors"]:
        failures.append(f"{totals['socket_errors']} socket errors or timeouts")
    if any(s["requests"] == 0 for s in run["slices"]):
        failures.append("a slice completed no request")
    if not run["memory"]["passed"]:
        failures.append(f"RSS grew {run['memory']['growth'] * 100:.1f} % over the second half")
    return failures


def rescore_soak(path: Path) -> None:
    """Applies the current pass rules to a soak result, from its stored samples."""
    result = json.loads(path.read_text())
    run = result["run"]
    run["memory"] = memory_check(run["samples"], run["totals"]["seconds"])
    run["failures"] = soak_failures(run)
    run["passed"] = not run["failures"]
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------------------------------
# The run

def directory_size(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()] if path.exists() else []
    return len(files), sum(p.stat().st_size for p in files)


def run_soak(options, binary: Path, db_kind: str, workdir: Path) -> dict:
    workdir.mkdir(parents=True)
    database = Database(db_kind, options.postgres_url, workdir)
    server = Server(binary, database, workdir, dict(options.env))
    total = options.soak_minutes * 60
    slice_seconds = options.soak_slice
    outcome: dict = {"db": db_kind, "minutes": options.soak_minutes,
                     "slice_seconds": slice_seconds, "mix_percent": SOAK_MIX,
                     "load_before": load_average()}
    try:
        server.command("migrate")
        server.start()
        client = Client(server.port)
        started = time.perf_counter()
        data = build_small(client, WORKLOADS["small"])
        outcome["dataset"] = data["dataset"]
        outcome["prepare_seconds"] = round(time.perf_counter() - started, 1)
        requests = soak_request_file(data, workdir, random.Random(11))
        server.settle()
        outcome["database_mb_before"] = round(database.size_mb(), 1)
        outcome["rss_before_kib"] = proc_rss_kib(server.pid)
        url = f"http://127.0.0.1:{server.port}"
        log(f"{db_kind}: soak of {options.soak_minutes:g} min, wrk -t{options.threads} "
            f"-c{options.connections} in {slice_seconds} s slices")

        began = time.monotonic()
        sampler = SoakSampler(server.pid, database.name if db_kind == "postgres" else None,
                              began)
        sampler.start()
        slices = []
        elapsed = 0.0
        try:
            while elapsed < total - 0.5:
                length = max(1, round(min(slice_seconds, total - elapsed)))
                slice_start = time.monotonic() - began
                run = subprocess.run(
                    ["wrk", f"-t{options.threads}", f"-c{options.connections}", f"-d{length}s",
                     "--timeout=30s", "-s", str(SOAK_LUA), url, "--", str(requests)],
                    capture_output=True, text=True)
                slice_end = time.monotonic() - began
                elapsed = slice_end
                if run.returncode != 0:
                    raise BenchError(f"wrk failed ({run.returncode}):\n{run.stdout}{run.stderr}")
                raw = next((json.loads(l[len("SOAK_JSON "):]) for l in run.stdout.splitlines()
                            if l.startswith("SOAK_JSON ")), None)
                if raw is None:
                    raise BenchError(f"wrk printed no figures:\n{run.stdout}{run.stderr}")
                figures = soak_figures(raw)
                figures.update({"index": len(slices) + 1, "start_s": round(slice_start, 1),
                                "end_s": round(slice_end, 1)})
                sampler.take()
                figures.update(soak_slice(sampler.samples, slice_start, slice_end))
                slices.append(figures)
                log(f"{db_kind} soak {figures['index']:>2}: {figures['rps']:>7.0f} req/s  "
                    f"p50 {figures['p50_ms']:.2f} ms  p99 {figures['p99_ms']:.2f} ms  "
                    f"2xx {figures['classes'].get('2xx', 0)}  4xx {figures['classes'].get('4xx', 0)}  "
                    f"5xx {figures['classes'].get('5xx', 0)}  socket {figures['socket_errors']}  "
                    f"RSS {figures['rss_end_kib'] / 1024:.1f} MiB  load {figures['load1']}")
                if not server.alive():
                    raise BenchError(f"the server died during the soak:\n{server.log_tail()}")
        finally:
            sampler.halt.set()
            sampler.join()
        samples = sampler.samples
        run_seconds = slices[-1]["end_s"] if slices else 0
        outcome["slices"] = slices
        outcome["samples"] = [{"t": s["t"], "rss_kib": s["rss_kib"],
                               "cpu_s": round((s["cpu_ticks"] - samples[0]["cpu_ticks"])
                                              / CLOCK_TICKS, 2),
                               "load1": s["load1"]} for s in samples]
        outcome["memory"] = memory_check(samples, run_seconds)
        totals: dict[str, dict[str, int]] = {}
        for s in slices:
            for kind, classes in s["by_kind"].items():
                for cls, n in classes.items():
                    totals.setdefault(kind, {})
                    totals[kind][cls] = totals[kind].get(cls, 0) + n
        requests_done = sum(s["requests"] for s in slices)
        outcome["totals"] = {
            "seconds": run_seconds,
            "requests": requests_done,
            "rps": round(requests_done / run_seconds, 1) if run_seconds else 0,
            "classes": {cls: sum(s["classes"].get(cls, 0) for s in slices)
                        for cls in ("1xx", "2xx", "3xx", "4xx", "5xx")},
            "socket_errors": sum(s["socket_errors"] for s in slices),
            "by_kind": totals,
            "bad_samples": [b for s in slices for b in s["bad"]][:20],
            "cpu_seconds": round((samples[-1]["cpu_ticks"] - samples[0]["cpu_ticks"])
                                 / CLOCK_TICKS, 1),
        }
        outcome["load_after"] = load_average()
        outcome["database_mb_after"] = round(database.size_mb(), 1)
        files, size = directory_size(workdir / "media")
        outcome["media_files_after"], outcome["media_mb_after"] = files, round(size / 1e6, 1)
        log_text = server.log_path.read_text(errors="replace") if server.log_path.exists() else ""
        log_text = re.sub(r"\x1b\[[0-9;]*m", "", log_text)
        problem_lines = [l for l in log_text.splitlines() if " WARN " in l or " ERROR " in l]
        outcome["server_log_warnings"] = len(problem_lines)
        messages: dict[str, int] = {}
        for line in problem_lines:
            words = line.split()[1:]
            text = " ".join(w for w in itertools.takewhile(lambda w: "=" not in w, words))
            messages[text] = messages.get(text, 0) + 1
        outcome["server_log_messages"] = messages
        outcome["server_log_excerpt"] = problem_lines[:30]
        failures = soak_failures(outcome)
        outcome["failures"] = failures
        outcome["passed"] = not failures
    finally:
        server.stop()
        database.drop()
    return outcome


def soak_figures(raw: dict) -> dict:
    seconds = raw["duration_us"] / 1e6
    by_kind: dict[str, dict[str, int]] = {}
    classes: dict[str, int] = {}
    for key, n in raw["counts"].items():
        kind, cls = key.split(" ")
        by_kind.setdefault(kind, {})[cls] = n
        classes[cls] = classes.get(cls, 0) + n
    latency = raw["latency_us"]
    return {
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": round(latency["p50"] / 1000, 2),
        "p90_ms": round(latency["p90"] / 1000, 2),
        "p99_ms": round(latency["p99"] / 1000, 2),
        "max_ms": round(latency["max"] / 1000, 2),
        "classes": classes,
        "by_kind": by_kind,
        "socket_errors": (raw["connect_errors"] + raw["read_errors"] + raw["write_errors"]
                          + raw["timeouts"]),
        "timeouts": raw["timeouts"],
        "bad": raw["bad"],
    }


# ---------------------------------------------------------------------------------------
# The report

def soak_section(out_dir: Path, link_base: Path) -> str:
    """The "Soak" part of BENCHMARKS.md, from the latest soak result of each database."""
    out = [SOAK_BEGIN, "", "## Soak", ""]
    out.append("`bench/run --soak` (see `bench/README.md`): the small workload built through "
               "the API, then one mixed load for the given minutes, run as back-to-back wrk "
               "slices of one minute so that throughput, latency and errors form a time "
               "series; the server's RSS and CPU are sampled every "
               f"{SOAK_SAMPLE_SECONDS:g} s. Release build, default settings (real "
               "Argon2id) except `ROOST_RATE_LIMITS=off`. Mix, by share of requests sent: "
               f"reads {sum(SOAK_MIX[k] for k in SOAK_READS):g} % (home feed, post by id, "
               "posts by tag, user search, `/me`, user profiles, a post's comments), writes "
               f"{sum(SOAK_MIX[k] for k in SOAK_WRITES):g} % (create post, like and unlike, "
               "comment, follow and unfollow, `PATCH /me`), logins "
               f"{SOAK_MIX['login']:g} %, image uploads (`POST /media`, a small PNG) "
               f"{SOAK_MIX['upload']:g} %. Every request is meant to succeed (likes, "
               "follows and their undoing are idempotent).")
    out.append("")
    out.append(f"**Pass** means no 5xx, no socket error or timeout, and memory that stops "
               f"growing: the {SOAK_RSS_PERCENTILE}th percentile of the RSS samples over the "
               "last minute exceeds that over the minute ending at half time by less than "
               f"{SOAK_RSS_GROWTH_LIMIT * 100:.0f} %. (The percentile rather than the median: "
               "RSS swings by tens of MiB between samples as the 19 MiB Argon2id blocks of "
               "logins are taken and returned, so a window's median depends on how many "
               "hashes happened to run when it was sampled, while its upper percentile "
               "follows the high-water mark that a leak would raise.)")
    out.append("")
    found = False
    for db in ("sqlite", "postgres"):
        files = sorted(out_dir.glob(f"soak-*-{db}.json"))
        if not files:
            continue
        found = True
        result = json.loads(files[-1].read_text())
        run = result["run"]
        mem, totals = run["memory"], run["totals"]
        name = "SQLite" if db == "sqlite" else "PostgreSQL"
        out.append(f"### {name}: {'passed' if run['passed'] else 'FAILED'}")
        out.append("")
        out.append(f"Run `{result['run_id']}`, commit `{result['commit'] or 'unknown'}`"
                   + (" with uncommitted changes" if result.get("dirty") else "")
                   + f", {result['date']}; {run['minutes']:g} minutes, `wrk "
                   f"-t{result['settings']['threads']} -c{result['settings']['connections']}`, "
                   f"{result['settings']['binary_kind']} build"
                   + "".join(f", `{k}={v}`" for k, v in result["settings"]["env"].items())
                   + "; "
                   f"{result['machine']['cores']} cores. Machine load average (1 / 5 / 15 min) "
                   f"{' / '.join(str(v) for v in run['load_before'])} before and "
                   f"{' / '.join(str(v) for v in run['load_after'])} after: other work ran "
                   "on the machine meanwhile, so throughput is understated (`other cores` is "
                   "wrk's and everyone else's CPU).")
        out.append("")
        postgres = db == "postgres"
        slice_label = ("minute" if run["slice_seconds"] == 60
                       else f"slice of {run['slice_seconds']} s")
        out.append(f"| {slice_label} | req/s | p50 ms | p99 ms | 2xx | 4xx | 5xx | socket errors | "
                   "RSS at end MiB | RSS max MiB | server cores |"
                   + (" PostgreSQL cores |" if postgres else "") + " other cores | load 1 min |")
        out.append("|" + "---|" * (14 if postgres else 13))
        for s in run["slices"]:
            c = s["classes"]
            out.append(f"| {s['index']} | {number(s['rps'])} | {s['p50_ms']:.2f} | "
                       f"{s['p99_ms']:.2f} | {c.get('2xx', 0):,} | {c.get('4xx', 0)} | "
                       f"{c.get('5xx', 0)} | {s['socket_errors']} | {mib(s['rss_end_kib'])} | "
                       f"{mib(s['rss_max_kib'])} | {s['server_cores']:.2f} |"
                       + (f" {s['postgres_cores']:.2f} |" if postgres else "")
                       + f" {s['rest_cores']:.2f} | {s['load1']:.1f} |")
        out.append("")
        cls = totals["classes"]
        out.append(f"- **Requests:** {totals['requests']:,} in {totals['seconds']:.0f} s "
                   f"({number(totals['rps'])} req/s); 2xx {cls['2xx']:,}, 4xx {cls['4xx']}, "
                   f"5xx {cls['5xx']}, socket errors and timeouts {totals['socket_errors']}: "
                   + ("✓" if not cls["5xx"] and not totals["socket_errors"] else "✗") + ".")
        kinds = totals["by_kind"]
        share = ", ".join(f"{k} {sum(kinds.get(k, {}).values()):,}" for k in SOAK_MIX)
        out.append(f"- **By kind:** {share}.")
        bad = {k: {c: n for c, n in v.items() if c != "2xx"} for k, v in kinds.items()}
        bad = {k: v for k, v in bad.items() if v}
        if bad:
            out.append("- **Non-2xx by kind:** " + "; ".join(
                f"{k}: " + ", ".join(f"{n} {c}" for c, n in v.items()) for k, v in bad.items())
                + ".")
        out.append(f"- **Memory:** RSS {mib(run['rss_before_kib'])} MiB before the load, "
                   f"{mib(mem['rss_1min_kib'])} MiB at 1 min, {mib(mem['rss_half_kib'])} MiB at "
                   f"half time, {mib(mem['rss_end_kib'])} MiB at the end, "
                   f"{mib(mem['rss_max_kib'])} MiB at most. {mem['percentile']}th percentile "
                   f"over the {mem['window_seconds']} s ending at half time against the last "
                   f"{mem['window_seconds']} s: {mib(mem['high_half_kib'])} → "
                   f"{mib(mem['high_end_kib'])} MiB, {mem['growth'] * 100:+.1f} % (limit "
                   f"+{mem['limit'] * 100:.0f} %; medians {mib(mem['median_half_kib'])} → "
                   f"{mib(mem['median_end_kib'])} MiB; "
                   f"second-half trend {mem['second_half_slope_kib_per_min'] / 1024:+.2f} "
                   f"MiB/min): " + ("✓" if mem["passed"] else "✗") + ".")
        out.append(f"- **Data written:** database {run['database_mb_before']} → "
                   f"{run['database_mb_after']} MB; {run['media_files_after']} media files "
                   f"({run['media_mb_after']} MB); server CPU {totals['cpu_seconds']} s.")
        messages = run.get("server_log_messages", {})
        out.append(f"- **Server log:** {run['server_log_warnings']} warning or error lines"
                   + (": " + ", ".join(f"{n} × {m}" for m, n in sorted(
                       messages.items(), key=lambda item: -item[1])) if messages else "")
                   + ".")
        if run["failures"]:
            out.append(f"- **Failures:** {'; '.join(run['failures'])}.")
        out.append("")
        out.append(f"Raw figures: `{os.path.relpath(files[-1], link_base)}`.")
        out.append("")
    if not found:
        return ""
    out.append(SOAK_END)
    return "\n".join(out)


def write_soak_report(out_dir: Path, report_path: Path) -> None:
    body = soak_section(out_dir, report_path.parent)
    if not body:
        return
    text = report_path.read_text() if report_path.exists() else REPORT_HEAD
    if SOAK_BEGIN in text and SOAK_END in text:
        before, rest = text.split(SOAK_BEGIN, 1)
        text = before + body + rest.split(SOAK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    report_path.write_text(text)
    log(f"wrote the soak section of {report_path}")


# ---------------------------------------------------------------------------------------
# The command

def soak_main(options, binary: Path, dbs: list[str], out_dir: Path, report_path: Path,
              scratch: Path) -> int:
    failed = []
    for db in dbs:
        now = datetime.datetime.now(datetime.timezone.utc)
        run_id = now.strftime("%Y-%m-%d-%H%M")
        log(f"== soak, {db}")
        result = {
            "run_id": run_id,
            "date": now.strftime("%Y-%m-%d %H:%M UTC"),
            "commit": git("rev-parse", "--short", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "machine": machine_info(),
            "tools": {"wrk": tool_version(["wrk", "--version"]).split(" Copyright")[0]},
            "settings": {"threads": options.threads, "connections": options.connections,
                         "minutes": options.soak_minutes, "slice_seconds": options.soak_slice,
                         "binary_kind": "debug" if "/debug/" in str(binary) else "release",
                         "env": dict(options.env)},
        }
        result["run"] = run_soak(options, binary, db, scratch / f"soak-{db}")
        path = out_dir / f"soak-{run_id}-{db}.json"
        path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        log(f"wrote {path}")
        run = result["run"]
        mem = run["memory"]
        log(f"{db} soak: {'passed' if run['passed'] else 'FAILED'}: "
            f"{run['totals']['requests']} requests, {run['totals']['classes']}, "
            f"{run['totals']['socket_errors']} socket errors; RSS 1 min "
            f"{mem['rss_1min_kib'] / 1024:.1f}, half {mem['rss_half_kib'] / 1024:.1f}, end "
            f"{mem['rss_end_kib'] / 1024:.1f}, max {mem['rss_max_kib'] / 1024:.1f} MiB, "
            f"second-half growth {mem['growth'] * 100:+.1f} %")
        for failure in run["failures"]:
            log(f"problem: {db}: {failure}")
        for bad in run["totals"]["bad_samples"][:5]:
            log(f"{db}: non-2xx sample: {bad}")
        if not run["passed"]:
            failed.append(db)
        if not options.no_report:
            write_soak_report(out_dir, report_path)
    return 1 if failed else 0
