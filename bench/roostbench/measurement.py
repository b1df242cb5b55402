"""Measuring: one wrk run of bench/scenario.lua per scenario and its figures (req/s,
latency percentiles, errors), the server's RSS and CPU time per request meanwhile,
PostgreSQL's, wrk's and everyone else's CPU, the breakdown of a perf profile with
--profile, one database and workload from a fresh database to every scenario's result
(`run_one`, which sets up the privacy scenarios' viewers just before the first of them and
checks the Mastodon-compatible listener before the first `masto_*` scenario), each
Mastodon-compatible scenario against its Roost equivalent (`mastodon_pairs`), and what
makes a run unusable (`problems`)."""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import signal
import statistics
import subprocess
import time
from pathlib import Path

from .common import BENCH, CLOCK_TICKS, BenchError, log
from .environment import Database, children_cpu_seconds, machine_cpu_ticks, postgres_cpu_ticks
from .server import RssSampler, Server, proc_cpu_ticks, proc_rss_kib
from .workloads import (MASTODON, PRIVACY, SCENARIOS, SMOKE_WORKLOADS, WORKLOADS, Client,
                        build_small, check_mastodon, prepare_large, prepare_privacy,
                        request_files, seed_large)

LUA = BENCH / "scenario.lua"

# A Mastodon-compatible scenario is "within 15 %" of its Roost equivalent when it serves at
# least 85 % of its requests per second, and, the steadier figure on a shared machine,
# costs at most 15 % more CPU per request (the server's plus PostgreSQL's).
MASTODON_TOLERANCE = 0.15


# ---------------------------------------------------------------------------------------
# wrk

def wrk_command(url: str, requests: Path, threads: int, connections: int, duration: int,
                timeout: int) -> list[str]:
    return ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s",
            f"--timeout={timeout}s", "-s", str(LUA), url, "--", str(requests)]


def parse_wrk(output: str) -> dict:
    for line in output.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
    raise BenchError(f"wrk printed no figures:\n{output}")


def summarise(raw: dict) -> dict:
    seconds = raw["duration_us"] / 1e6
    socket_errors = raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"]
    latency = raw["latency_us"]
    return {
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": round(latency["p50"] / 1000, 2),
        "p90_ms": round(latency["p90"] / 1000, 2),
        "p99_ms": round(latency["p99"] / 1000, 2),
        "max_ms": round(latency["max"] / 1000, 2),
        "errors": raw["non_2xx"] + socket_errors,
        "non_2xx": raw["non_2xx"],
        "first_bad_status": raw["first_bad_status"] or None,
        "socket_errors": socket_errors,
        "timeouts": raw["timeouts"],
        "bytes_per_response": round(raw["bytes"] / raw["requests"]) if raw["requests"] else 0,
    }


def measure(server: Server, name: str, requests: Path, options, postgres: bool,
            probe: Path | None = None, perf_dir: Path | None = None) -> dict:
    port = server.mastodon_port if name in MASTODON else server.port
    url = f"http://127.0.0.1:{port}"
    timeout = 30 if name == "login" else 5
    idle_rss = proc_rss_kib(server.pid)
    cpu_before = proc_cpu_ticks(server.pid)
    pg_before = postgres_cpu_ticks() if postgres else 0
    busy_before, total_before = machine_cpu_ticks()
    children_before = children_cpu_seconds()
    sampler = RssSampler(server.pid)
    sampler.start()
    perf = None
    if perf_dir is not None:
        perf_data = perf_dir / f"{name}.perf.data"
        perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "999", "-g",
                                 "-p", str(server.pid), "-o", str(perf_data)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    main = subprocess.Popen(wrk_command(url, requests, options.threads, options.connections,
                                        options.duration, timeout),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    side = None
    if probe is not None:
        # A steady probe beside the storm: 4 connections, 10 ms between requests each.
        side = subprocess.Popen(wrk_command(url, probe, 1, 4, options.duration, 5),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=dict(os.environ, BENCH_PACE_MS="10"))
    output = main.communicate()[0]
    side_output = side.communicate()[0] if side else ""
    sampler.halt.set()
    sampler.join()
    if perf is not None:
        perf.send_signal(signal.SIGINT)
        perf.wait()
    if main.returncode != 0:
        raise BenchError(f"wrk failed ({main.returncode}):\n{output}")
    cpu_ticks = proc_cpu_ticks(server.pid) - cpu_before
    pg_ticks = postgres_cpu_ticks() - pg_before if postgres else 0
    busy_after, total_after = machine_cpu_ticks()
    wrk_seconds = children_cpu_seconds() - children_before
    result = {"name": name, **summarise(parse_wrk(output))}
    requests_done = max(result["requests"], 1)
    server_seconds = cpu_ticks / CLOCK_TICKS
    pg_seconds = pg_ticks / CLOCK_TICKS
    elapsed_ticks = max(total_after - total_before, 1)
    cores = os.cpu_count() or 1
    wall = elapsed_ticks / CLOCK_TICKS / cores
    machine_busy = (busy_after - busy_before) / CLOCK_TICKS
    result.update({
        "rss_idle_kib": idle_rss,
        "rss_max_kib": sampler.peak,
        "cpu_us_per_request": round(server_seconds / requests_done * 1e6, 1),
        "server_cores": round(server_seconds / wall, 2) if wall else 0,
        "wrk_cores": round(wrk_seconds / wall, 2) if wall else 0,
        # Whatever else ran meanwhile: other builds, the kernel's network stack on
        # behalf of both sides, PostgreSQL (reported separately below).
        "other_cores": round(max(machine_busy - server_seconds - wrk_seconds - pg_seconds, 0)
                             / wall, 2) if wall else 0,
    })
    if postgres:
        result["postgres_cpu_us_per_request"] = round(pg_seconds / requests_done * 1e6, 1)
        result["postgres_cores"] = round(pg_seconds / wall, 2) if wall else 0
    if side is not None:
        if side.returncode != 0:
            raise BenchError(f"the probe's wrk failed:\n{side_output}")
        result["probe"] = {"name": "me", **summarise(parse_wrk(side_output))}
    if perf is not None:
        report = subprocess.run(["perf", "report", "-i", str(perf_data), "--no-children",
                                 "--sort", "dso,symbol", "--stdio", "-g", "none",
                                 "--percent-limit", "0.5"],
                                capture_output=True, text=True)
        flat = "\n".join(re.sub(r"\s{2,}", "  ", line).rstrip(" -")
                         for line in report.stdout.splitlines())
        (perf_dir / f"{name}.txt").write_text(flat + "\n")
        result["profile"] = profile_breakdown(perf_data)
    return result


# ---------------------------------------------------------------------------------------
# perf profiles

# Where a profile's samples went: each sample is put in the first kind whose pattern matches
# one of its frames, from the leaf up (stacks are partial without frame pointers, so the
# thread a sample ran on is reported too).
SAMPLE_KINDS = [
    ("Argon2", re.compile(r"argon2|blake2", re.I)),
    ("SQLite engine", re.compile(r"^sqlite3|^pcache|^btree|^vdbe|^yy", re.I)),
    ("thread hand-off (futex wake/wait)", re.compile(r"futex|flume|SyncSignal|lll_lock|pthread_cond|pthread_mutex|eventfd|Waker::wake|unpark")),
    ("SQLite busy-handler sleeps", re.compile(r"nanosleep|usleep|unixSleep")),
    ("file I/O (pages, WAL, fsync)", re.compile(r"fsync|pwrite|pread|^ext4_|^vfs_(read|write)")),
    ("preemption (IPI, reschedule)", re.compile(r"reschedule_ipi|irqentry_exit")),
    ("network (TCP, epoll)", re.compile(r"^tcp_|^sock_|epoll|writev|^__sys_recv|^__sys_send|recvfrom|sendto|^ip_|net_rx|^__GI___libc_(read|write)|^__libc_(recv|send)")),
    ("JSON (serde_json)", re.compile(r"serde_json")),
    ("SHA-256", re.compile(r"sha2")),
    ("allocator (malloc/free/memcpy)", re.compile(r"malloc|^free$|cfree|realloc|^_int_|unlink_chunk|memmove|memcpy|memset")),
    ("tracing", re.compile(r"tracing")),
    ("ORM and driver (sea-orm, sqlx)", re.compile(r"sea_orm|sea_query|sqlx")),
    ("HTTP (hyper, axum, tower)", re.compile(r"hyper|axum|tower|http::")),
    ("async runtime (tokio)", re.compile(r"tokio")),
]


def profile_breakdown(perf_data: Path) -> dict:
    """Shares of the samples in `perf_data` by kind of work and by thread name."""
    script = subprocess.run(["perf", "script", "-i", str(perf_data), "-F", "comm,ip,sym"],
                            capture_output=True, text=True, errors="replace")
    kinds: dict[str, int] = {}
    threads: dict[str, int] = {}
    total = 0

    def count(comm: str, frames: list[str]) -> None:
        nonlocal total
        if not comm:
            return
        total += 1
        threads[comm] = threads.get(comm, 0) + 1
        kind = "other"
        for frame in frames:
            match = next((name for name, pattern in SAMPLE_KINDS if pattern.search(frame)), None)
            if match:
                kind = match
                break
        kinds[kind] = kinds.get(kind, 0) + 1

    comm, frames = "", []
    for line in script.stdout.splitlines():
        if not line.strip():
            count(comm, frames)
            comm, frames = "", []
        elif line.startswith(("\t", " ")):
            parts = line.split(None, 1)
            if len(parts) == 2:
                frames.append(parts[1].split(" (")[0])
        else:
            comm = line.rsplit(None, 1)[0].strip() if line.split() else line
    count(comm, frames)

    def shares(counts: dict[str, int]) -> dict[str, float]:
        ordered = sorted(counts.items(), key=lambda item: -item[1])
        return {name: round(100 * n / total, 1) for name, n in ordered if n}

    return {"samples": total, "by_kind": shares(kinds), "by_thread": shares(threads)}


# ---------------------------------------------------------------------------------------
# One database and workload

def run_one(options, binary: Path, db_kind: str, workload: str, workdir: Path) -> dict:
    sizes = (SMOKE_WORKLOADS if options.smoke else WORKLOADS)[workload]
    workdir.mkdir(parents=True)
    database = Database(db_kind, options.postgres_url, workdir)
    extra_env = dict(options.env)
    if options.smoke:
        # The smoke run checks the harness, not Argon2: a cheap hash keeps it to seconds.
        extra_env.setdefault("ROOST_ARGON2_MEMORY_KIB", "64")
        extra_env.setdefault("ROOST_ARGON2_ITERATIONS", "1")
    server = Server(binary, database, workdir, extra_env)
    outcome: dict = {"db": db_kind, "workload": workload, "sizes": sizes}
    try:
        server.command("migrate")
        if workload == "large":
            outcome.update(seed_large(server, sizes))
        # Start-to-serving with migrations already applied: the median of a few starts.
        starts = []
        for attempt in range(1 if options.smoke else 3):
            if attempt:
                server.stop()
            starts.append(server.start())
        outcome["start_to_serving_ms"] = round(statistics.median(starts) * 1000, 1)
        outcome["start_to_serving_all_ms"] = [round(s * 1000, 1) for s in starts]
        time.sleep(0.5)
        outcome["idle_rss_kib"] = proc_rss_kib(server.pid)
        log(f"{db_kind}/{workload}: serving after {outcome['start_to_serving_ms']} ms, "
            f"idle RSS {outcome['idle_rss_kib'] / 1024:.1f} MiB")

        client = Client(server.port)
        started = time.perf_counter()
        if workload == "small":
            data = build_small(client, sizes)
            outcome["dataset"] = data["dataset"]
        else:
            data = prepare_large(client, sizes)
            outcome["deep_page"] = sizes["deep_page"]
        outcome["prepare_seconds"] = round(time.perf_counter() - started, 1)
        outcome["database_mb"] = round(database.size_mb(), 1)
        files = request_files(data, workdir, random.Random(7))

        perf_dir = None
        if options.profile:
            perf_dir = options.out_dir / "profiles" / f"{db_kind}-{workload}"
            perf_dir.mkdir(parents=True, exist_ok=True)
        wanted = [s for s in SCENARIOS if s in files
                  and (not options.scenarios or s in options.scenarios)]
        if options.smoke and workload == "large" and not options.scenarios:
            # Every other scenario already ran on the small workload: the large one only
            # adds seeding and the deep feed page.
            wanted = [s for s in wanted if s in ("healthz", "feed", "feed_deep")]
        outcome["scenarios"] = []
        ceiling = None
        for name in wanted:
            if name in MASTODON:
                if "mastodon" not in outcome:
                    outcome["mastodon"] = set_up_mastodon(
                        server, client, data, [s for s in wanted if s in MASTODON],
                        f"{db_kind}/{workload}")
                if "error" in outcome["mastodon"]:
                    continue
            if name in PRIVACY:
                if "privacy" not in outcome:
                    outcome["privacy"] = set_up_privacy(
                        server, client, data, sizes, [s for s in wanted if s in PRIVACY],
                        f"{db_kind}/{workload}")
                if "error" in outcome["privacy"]:
                    continue
            server.settle()
            result = measure(server, name, files[name], options, db_kind == "postgres",
                             probe=files["me"] if name == "login" else None, perf_dir=perf_dir)
            if name == "healthz":
                ceiling = result["rps"]
            result["ceiling_fraction"] = round(result["rps"] / ceiling, 3) if ceiling else None
            outcome["scenarios"].append(result)
            line = (f"{db_kind}/{workload} {name:<13} {result['rps']:>9.0f} req/s  "
                    f"p50 {result['p50_ms']:>7.2f} ms  p99 {result['p99_ms']:>7.2f} ms  "
                    f"errors {result['errors']}  cpu {result['cpu_us_per_request']} µs/req  "
                    f"rss {result['rss_max_kib'] / 1024:.1f} MiB")
            if "probe" in result:
                line += (f"  | /me meanwhile p99 {result['probe']['p99_ms']} ms, "
                         f"errors {result['probe']['errors']}")
            log(line)
            if not server.alive():
                raise BenchError(f"the server died during {name}:\n{server.log_tail()}")
        for pair in mastodon_pairs(outcome):
            log(f"{db_kind}/{workload} {pair['mastodon']} against {pair['roost']}: "
                f"req/s {pair['rps_ratio']:.2f}× ({'within' if pair['rps_within'] else 'outside'} "
                f"15 %), CPU per request {pair['cpu_ratio']:.2f}× "
                f"({'within' if pair['cpu_within'] else 'outside'} 15 %)")
        outcome["warnings"] = [l for l in server.log_tail(200).splitlines() if " WARN " in l
                               or " ERROR " in l][:20]
    finally:
        server.stop()
        database.drop()
    return outcome


def set_up_privacy(server: Server, client: Client, data: dict, sizes: dict,
                   scenarios: list[str], where: str) -> dict:
    """The viewers of the privacy `scenarios` block or mute their accounts (see
    `prepare_privacy`), after the scenarios that this would disturb and before their own.
    A failure is kept as `error` rather than raised, so that a server without blocks and
    mutes (an older commit) still gets its other scenarios measured; `problems` reports it
    (and a smoke run fails on it)."""
    log(f"{where}: setting up {', '.join(scenarios)}")
    started = time.perf_counter()
    try:
        privacy = prepare_privacy(client, data, sizes, scenarios)
    except (BenchError, OSError, http.client.HTTPException) as error:
        if not server.alive():
            raise BenchError(f"the server died while setting up {', '.join(scenarios)}:\n"
                             f"{server.log_tail()}") from None
        log(f"{where}: error: {error}; not measuring {', '.join(scenarios)}")
        privacy = {"error": str(error), "skipped": scenarios}
    privacy["setup_seconds"] = round(time.perf_counter() - started, 1)
    if "error" not in privacy:
        log(f"{where}: set up {', '.join(scenarios)} in {privacy['setup_seconds']} s")
    return privacy


def set_up_mastodon(server: Server, client: Client, data: dict, scenarios: list[str],
                    where: str) -> dict:
    """Checks the Mastodon-compatible listener before the first of its `scenarios` (see
    `check_mastodon`: the ids the request files use are the ones the server answers). A
    failure is kept as `error` rather than raised, as for the privacy scenarios: the other
    scenarios are still measured, `problems` reports it and a smoke run fails on it."""
    mastodon = Client(server.mastodon_port)
    try:
        checked = check_mastodon(client, mastodon, data)
    except (BenchError, OSError, http.client.HTTPException, ValueError, KeyError,
            TypeError) as error:
        if not server.alive():
            raise BenchError(f"the server died while checking the Mastodon-compatible API:\n"
                             f"{server.log_tail()}") from None
        log(f"{where}: error: the Mastodon-compatible API on port {server.mastodon_port}: "
            f"{error!r}; not measuring {', '.join(scenarios)}")
        return {"error": str(error) or repr(error), "skipped": scenarios}
    log(f"{where}: the Mastodon-compatible API answers the same account, status and home "
        f"timeline under the computed ids")
    return {"checked": checked}


def mastodon_pairs(run: dict) -> list[dict]:
    """Each measured Mastodon-compatible scenario beside its Roost equivalent: the ratios
    of req/s and of CPU per request (server's plus PostgreSQL's), and whether each is
    within MASTODON_TOLERANCE."""
    measured = {s["name"]: s for s in run.get("scenarios", [])}
    pairs = []
    for mastodon, roost in MASTODON.items():
        m, r = measured.get(mastodon), measured.get(roost)
        if not m or not r or not r["rps"]:
            continue

        def cpu(s: dict) -> float:
            return s["cpu_us_per_request"] + s.get("postgres_cpu_us_per_request", 0)

        rps_ratio = m["rps"] / r["rps"]
        cpu_ratio = cpu(m) / cpu(r) if cpu(r) else 0.0
        pairs.append({"roost": roost, "mastodon": mastodon,
                      "rps_ratio": round(rps_ratio, 3), "cpu_ratio": round(cpu_ratio, 3),
                      "rps_within": rps_ratio >= 1 - MASTODON_TOLERANCE,
                      "cpu_within": cpu_ratio <= 1 + MASTODON_TOLERANCE})
    return pairs


def problems(results: dict) -> list[str]:
    """What makes a run unusable: a scenario with errors or no requests, or scenarios whose
    set-up (blocks and mutes, or the Mastodon-compatible API's check) failed."""
    found = []
    for run in results["runs"]:
        mastodon = run.get("mastodon", {})
        if "error" in mastodon:
            found.append(f"{run['db']}/{run['workload']} {', '.join(mastodon['skipped'])}: "
                         f"not measured, the Mastodon-compatible API's check failed: "
                         f"{mastodon['error']}")
        privacy = run.get("privacy", {})
        if "error" in privacy:
            found.append(f"{run['db']}/{run['workload']} {', '.join(privacy['skipped'])}: "
                         f"not measured, the set-up failed: {privacy['error']}")
        for s in run["scenarios"]:
            where = f"{run['db']}/{run['workload']} {s['name']}"
            if s["requests"] == 0:
                found.append(f"{where}: no requests completed")
            if s["errors"]:
                found.append(f"{where}: {s['errors']} errors (first bad status "
                             f"{s['first_bad_status']}, {s['socket_errors']} socket errors)")
            probe = s.get("probe")
            if probe and (probe["requests"] == 0 or probe["errors"]):
                found.append(f"{where}: the /me probe had {probe['errors']} errors and "
                             f"{probe['requests']} requests")
    return found
