"""Roost's load benchmark: one command from a source tree to BENCHMARKS.md.

For each database (SQLite, PostgreSQL) and each workload (small: built through the HTTP
API; large: written by `roost seed`), it starts the server on a fresh database with the
rate limits off, prepares tokens, post ids, tags, search terms and deep feed cursors,
has one viewer block and another mute 1,000 accounts, drives every scenario with wrk (bench/scenario.lua replays a request file round robin),
samples the server's memory and CPU from /proc, and writes the raw figures as JSON,
gnuplot SVG charts and the tables of BENCHMARKS.md.

    bench/run                          # everything: release build, both DBs, both workloads
    bench/run --db sqlite --workload small --duration 5
    bench/run --smoke --binary target/debug/roost    # seconds; what CI runs

Standard library only (Python 3.11+); wrk, gnuplot and psql are installed with apt-get
when missing. See bench/README.md.

Modules, each depending only on those above it:

    common        paths, the error that stops a run, the log line
    environment   tools, machine readings, git, the per-run database
    server        the roost process: start, readiness, stop, its CPU and RSS
    workloads     workload sizes, datasets through the API or `roost seed`, the viewers
                  who block or mute, request files
    measurement   wrk per scenario, CPU and memory per scenario, perf, one database/workload
    report        BENCHMARKS.md tables and charts for the scenarios
    soak          the --soak mode, its pass rules and its BENCHMARKS.md section
    cli           the options and the top-level flow; `main` is the entry point
"""
