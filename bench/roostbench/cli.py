"""The command line: the options, and the top-level flow: `--report-only`, `--soak`, or the
scenarios for each database and workload, written to the results JSON and BENCHMARKS.md.
`main` is what bench/run calls."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .common import REPORT, RESULTS, BenchError, log
from .environment import (build_release, ensure_tools, git, load_average, machine_info,
                          tool_version)
from .measurement import problems, run_one
from .report import publish
from .soak import rescore_soak, soak_main, write_soak_report
from .workloads import SCENARIOS


def parse_args(argv: list[str]):
    parser = argparse.ArgumentParser(
        description="Roost's load benchmark (see bench/README.md).")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--workload", choices=["small", "large", "both"], default="both")
    parser.add_argument("--duration", type=int, default=None,
                        help="seconds per scenario (default 15; 1 with --smoke)")
    parser.add_argument("--connections", type=int, default=None,
                        help="wrk connections (default 32; 16 with --soak)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny workloads and 1 s per scenario; fails on any error "
                             "(writes to a temporary folder unless --out is given)")
    parser.add_argument("--soak", action="store_true",
                        help="instead of the scenarios: one mixed load (reads, writes, "
                             "logins, uploads) for --soak-minutes on the small workload, "
                             "failing on any 5xx, socket error or memory growth")
    parser.add_argument("--soak-minutes", type=float, default=10,
                        help="length of the soak (default 10)")
    parser.add_argument("--soak-slice", type=int, default=60,
                        help="seconds per wrk run of the soak, one row of its time series "
                             "(default 60)")
    parser.add_argument("--binary", type=Path,
                        help="the roost binary to run (default: cargo build --release)")
    parser.add_argument("--postgres-url",
                        default=os.environ.get("ROOST_BENCH_POSTGRES_URL",
                                               "postgres://postgres@127.0.0.1:5432/postgres"),
                        help="a PostgreSQL server where the harness may create and drop "
                             "databases (roost_bench_<random>)")
    parser.add_argument("--scenarios", type=lambda s: s.split(","),
                        help=f"comma-separated subset of {','.join(SCENARIOS)}")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for the server (repeatable), e.g. "
                             "ROOST_DATABASE_MAX_CONNECTIONS=8")
    parser.add_argument("--profile", action="store_true",
                        help="record each scenario with perf into bench/results/profiles/")
    parser.add_argument("--out", type=Path, help="where results, charts and the report go")
    parser.add_argument("--keep", action="store_true",
                        help="keep the scratch folder (databases, request files, server logs)")
    parser.add_argument("--no-report", action="store_true",
                        help="write the JSON only, not BENCHMARKS.md and the charts")
    parser.add_argument("--report-only", type=Path, metavar="RESULTS_JSON",
                        help="regenerate BENCHMARKS.md and the charts from a results file")
    options = parser.parse_args(argv)
    if options.duration is None:
        options.duration = 1 if options.smoke else 15
    if options.connections is None:
        options.connections = 16 if options.soak else 32
    if options.soak and options.smoke:
        parser.error("--soak and --smoke exclude each other")
    if options.soak_minutes <= 0 or options.soak_slice < 1:
        parser.error("--soak-minutes must be positive and --soak-slice at least 1")
    pairs = []
    for item in options.env:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--env wants KEY=VALUE, got {item!r}")
        pairs.append((key, value))
    options.env = pairs
    if options.scenarios:
        unknown = set(options.scenarios) - set(SCENARIOS)
        if unknown:
            parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if options.connections < options.threads:
        parser.error("--connections must be at least --threads")
    return options


def run(argv: list[str]) -> int:
    options = parse_args(argv)
    if options.report_only:
        if options.report_only.name.startswith("soak-"):
            for path in sorted(options.report_only.parent.glob("soak-*.json")):
                rescore_soak(path)
            write_soak_report(options.report_only.parent, REPORT)
            return 0
        results = json.loads(options.report_only.read_text())
        ensure_tools(False, True, False)
        # With --out (e.g. the folder of a run made with --out), the report goes there
        # rather than into the repository's BENCHMARKS.md.
        publish(results, options.report_only.parent,
                options.out / "BENCHMARKS.md" if options.out else REPORT)
        return 0

    dbs = ["sqlite", "postgres"] if options.db == "both" else [options.db]
    workloads = ["small", "large"] if options.workload == "both" else [options.workload]
    ensure_tools("postgres" in dbs, not options.no_report and not options.soak,
                 options.profile and not options.soak)
    binary = options.binary.resolve() if options.binary else build_release()
    if not binary.exists():
        raise BenchError(f"no binary at {binary}")

    scratch = Path(tempfile.mkdtemp(prefix="roost-bench-"))
    if options.out:
        out_dir, report_path = options.out, options.out / "BENCHMARKS.md"
    elif options.smoke:
        out_dir, report_path = scratch / "results", scratch / "results" / "BENCHMARKS.md"
    else:
        out_dir, report_path = RESULTS, REPORT
    out_dir.mkdir(parents=True, exist_ok=True)
    options.out_dir = out_dir
    if options.soak:
        try:
            return soak_main(options, binary, dbs, out_dir, report_path, scratch)
        finally:
            if options.keep:
                log(f"kept {scratch}")
            else:
                shutil.rmtree(scratch, ignore_errors=True)

    now = datetime.datetime.now(datetime.timezone.utc)
    run_id = now.strftime("%Y-%m-%d-%H%M")
    results = {
        "run_id": run_id,
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "machine": machine_info(),
        "load_before": load_average(),
        "tools": {"wrk": tool_version(["wrk", "--version"]).split(" Copyright")[0]},
        "settings": {"threads": options.threads, "connections": options.connections,
                     "duration": options.duration, "smoke": options.smoke,
                     "binary_kind": "debug" if "/debug/" in str(binary) else "release",
                     "env": dict(options.env)},
        "runs": [],
    }
    started = time.perf_counter()
    try:
        for db in dbs:
            for workload in workloads:
                log(f"== {db}, {workload} workload")
                results["runs"].append(
                    run_one(options, binary, db, workload, scratch / f"{db}-{workload}"))
        results["elapsed_seconds"] = round(time.perf_counter() - started, 1)
        results["load_after"] = load_average()
        name = (f"{run_id}-{options.db}-{options.workload}"
                f"{'-smoke' if options.smoke else ''}.json")
        results_file = out_dir / name
        results["results_file"] = os.path.relpath(results_file, report_path.parent)
        results_file.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
        log(f"wrote {results_file}")
        if not options.no_report:
            publish(results, out_dir, report_path)
    finally:
        # The scratch folder holds the SQLite files (hundreds of MB for the large workload).
        if options.keep:
            log(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    found = problems(results)
    for issue in found:
        log(f"problem: {issue}")
    log(f"done in {results['elapsed_seconds']} s")
    return 1 if options.smoke and found else 0


def main(argv: list[str] | None = None) -> int:
    """Runs the command with `argv` (default: the process's arguments) and returns its exit
    status: 1 when a step failed, 130 when interrupted."""
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except BenchError as error:
        log(f"error: {error}")
        return 1
    except KeyboardInterrupt:
        return 130
