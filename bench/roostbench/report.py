"""BENCHMARKS.md for the scenarios: the peers' figures and Roost's targets, the tables
between the file's two `bench/run` markers (text outside them is kept), and the gnuplot
SVG charts. `publish` is what a run and `--report-only` call; the soak's own section is
written by soak.py, which shares the helpers here."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .common import log
from .measurement import MASTODON_TOLERANCE, SAMPLE_KINDS, mastodon_pairs, problems
from .workloads import MASTODON


LABELS = {
    "healthz": "`/healthz` (ceiling)",
    "me": "own profile `/me`",
    "masto_me": "↳ Mastodon `/api/v1/accounts/verify_credentials`",
    "post": "one post by id",
    "masto_status": "↳ Mastodon `/api/v1/statuses/:id`",
    "feed": "home feed, first page",
    "masto_home": "↳ Mastodon `/api/v1/timelines/home`",
    "feed_deep": "home feed, page {page}",
    "feed_blocking": "home feed, first page, viewer blocking {blocking} accounts",
    "feed_muting": "home feed, first page, viewer muting {muting} accounts",
    "tag": "posts by hashtag",
    "search": "user search",
    "create_post": "create post",
    "login": "login (Argon2id)",
}


# The issue's figures: Django REST Framework and GoToSocial 0.19 on the small workload,
# and Roost's targets. `*_rps` are the upper ends, for the chart and the checks.
PEERS = {
    "feed": {"drf": "2–7 req/s", "gts": "7,500 req/s, p99 63 ms",
             "target": "≥ 10,000 req/s, p99 ≤ 20 ms", "drf_rps": 7, "gts_rps": 7500,
             "target_rps": 10_000, "target_p99_ms": 20},
    "post": {"drf": "180–450 req/s", "gts": "400–900 req/s", "target": "≥ 15,000 req/s",
             "drf_rps": 450, "gts_rps": 900, "target_rps": 15_000},
    "tag": {"drf": "80–150 req/s", "gts": "260 req/s", "target": "≥ 5,000 req/s",
            "drf_rps": 150, "gts_rps": 260, "target_rps": 5_000},
    "search": {"drf": "390–540 req/s", "gts": "770 req/s", "target": "≥ 5,000 req/s",
               "drf_rps": 540, "gts_rps": 770, "target_rps": 5_000},
    "me": {"drf": "–", "gts": "8,400 req/s", "target": "≥ 15,000 req/s",
           "gts_rps": 8400, "target_rps": 15_000},
    "create_post": {"drf": "40–56 req/s", "gts": "100–150 req/s", "target": "≥ 2,000 req/s",
                    "drf_rps": 56, "gts_rps": 150, "target_rps": 2_000},
    "login": {"drf": "4–8 req/s (PBKDF2)", "gts": "–",
              "target": "Argon2-bound; `/me` p99 ≤ 50 ms meanwhile", "drf_rps": 8},
    "feed_deep": {"drf": "–", "gts": "–", "target": "≤ 1.5× page 1"},
    "feed_blocking": {"drf": "–", "gts": "–", "target": "–"},
    "feed_muting": {"drf": "–", "gts": "–", "target": "–"},
    "healthz": {"drf": "–", "gts": "–", "target": "–"},
    # GoToSocial 0.19's own (Mastodon) API on a workload like the small one, with 1 GiB of
    # caches (and with its defaults); the target is Roost's equivalent scenario.
    "masto_home": {"drf": "–", "gts": "6,100 req/s (6,200 with its defaults)",
                   "target": "within 15 % of the home feed"},
    "masto_status": {"drf": "–", "gts": "13,000 req/s (460 with its defaults)",
                     "target": "within 15 % of one post"},
    "masto_me": {"drf": "–", "gts": "15,600 req/s (4,200 with its defaults)",
                 "target": "within 15 % of `/me`"},
}
TARGET_IDLE_RSS_MB = 30
TARGET_LOAD_RSS_MB = 100
TARGET_START_MS = 100
TARGET_PROBE_P99_MS = 50


BEGIN = "<!-- bench/run: generated from here -->"
END = "<!-- bench/run: generated up to here -->"


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f}"


def number(value: float) -> str:
    return f"{value:,.0f}"


def verdict(name: str, s: dict, run: dict) -> str:
    peer = PEERS.get(name, {})
    if name in MASTODON:
        pair = next((p for p in mastodon_pairs(run) if p["mastodon"] == name), None)
        return "" if pair is None else "✓" if pair["rps_within"] else "✗"
    if name == "login":
        probe = s.get("probe")
        if not probe:
            return ""
        return "✓" if probe["p99_ms"] <= TARGET_PROBE_P99_MS else "✗"
    if name == "feed_deep":
        first = next((x for x in run["scenarios"] if x["name"] == "feed"), None)
        if not first or not first["p50_ms"]:
            return ""
        return "✓" if s["p50_ms"] <= 1.5 * first["p50_ms"] else "✗"
    if "target_rps" not in peer or run["workload"] != "small":
        return ""
    ok = s["rps"] >= peer["target_rps"]
    if "target_p99_ms" in peer:
        ok = ok and s["p99_ms"] <= peer["target_p99_ms"]
    return "✓" if ok else "✗"


def hidden_accounts(run: dict, name: str) -> str:
    """How many accounts the viewer of a privacy scenario blocks or mutes."""
    count = run.get("privacy", {}).get(name, {}).get("accounts",
                                                    run.get("sizes", {}).get("hidden", 1000))
    return number(count)


def scenario_label(name: str, run: dict) -> str:
    return LABELS[name].format(page=run.get("deep_page", 100),
                               blocking=hidden_accounts(run, "feed_blocking"),
                               muting=hidden_accounts(run, "feed_muting"))


def run_table(run: dict) -> list[str]:
    postgres = run["db"] == "postgres"
    head = ("| scenario | req/s | p50 ms | p99 ms | errors | RSS idle → max MiB | "
            "server CPU µs/req |" + (" PostgreSQL CPU µs/req |" if postgres else "")
            + " of ceiling | target | met | DRF | GoToSocial |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for s in run["scenarios"]:
        name = s["name"]
        peer = PEERS.get(name, {})
        fraction = f"{s['ceiling_fraction'] * 100:.1f} %" if s.get("ceiling_fraction") else "–"
        row = (f"| {scenario_label(name, run)} | {number(s['rps'])} | {s['p50_ms']:.2f} | "
               f"{s['p99_ms']:.2f} | {s['errors']} | {mib(s['rss_idle_kib'])} → "
               f"{mib(s['rss_max_kib'])} | {s['cpu_us_per_request']:.0f} |")
        if postgres:
            row += f" {s.get('postgres_cpu_us_per_request', 0):.0f} |"
        target = peer.get("target", "–") if run["workload"] == "small" or name in (
            "login", "feed_deep", *MASTODON) else "–"
        row += (f" {fraction} | {target} | {verdict(name, s, run)} | "
                f"{peer.get('drf', '–') if run['workload'] == 'small' else '–'} | "
                f"{peer.get('gts', '–') if run['workload'] == 'small' else '–'} |")
        lines.append(row)
        probe = s.get("probe")
        if probe:
            lines.append(f"| ↳ `/me` during the login storm (4 connections, one request per "
                         f"10 ms each) | {number(probe['rps'])} | {probe['p50_ms']:.2f} | "
                         f"{probe['p99_ms']:.2f} | {probe['errors']} | | |"
                         + (" |" if postgres else "")
                         + f" | p99 ≤ {TARGET_PROBE_P99_MS} ms | "
                         f"{'✓' if probe['p99_ms'] <= TARGET_PROBE_P99_MS else '✗'} | | |")
    return lines


def find(run: dict, name: str) -> dict | None:
    return next((s for s in run["scenarios"] if s["name"] == name), None)


def privacy_section(results: dict) -> list[str]:
    """The home feed of a viewer who blocks or mutes many accounts beside the plain home
    feed of the same run."""
    def cpu(s: dict) -> str:
        text = f"{s['cpu_us_per_request']:.0f}"
        if "postgres_cpu_us_per_request" in s:
            text += f" + {s['postgres_cpu_us_per_request']:.0f}"
        return text

    rows = []
    for run in results["runs"]:
        plain = find(run, "feed")
        measured = [(name, find(run, name)) for name in ("feed_blocking", "feed_muting")]
        if not plain or not any(s for _, s in measured):
            continue
        counts = " / ".join(hidden_accounts(run, name) if s else "–" for name, s in measured)
        row = (f"| {run['db']} / {run['workload']} | {counts} | {plain['p50_ms']:.2f} / "
               f"{plain['p99_ms']:.2f} | {cpu(plain)} |")
        for name, s in measured:
            if not s:
                row += " – | – |"
                continue
            ratio = s["p50_ms"] / plain["p50_ms"] if plain["p50_ms"] else 0
            row += f" {s['p50_ms']:.2f} / {s['p99_ms']:.2f} ({ratio:.2f}×) | {cpu(s)} |"
        privacy = run.get("privacy", {})
        registered = privacy.get("registered", 0)
        row += (f" {privacy.get('setup_seconds', 0)} s"
                + (f", {number(registered)} accounts registered for it" if registered else "")
                + " |")
        rows.append(row)
    if not rows:
        return []
    return [
        "### Home feed of a viewer who blocks or mutes many accounts",
        "",
        "One logged-in user of the workload blocks, and another mutes, accounts that they "
        "do not follow (users of the dataset, then accounts registered for it when the "
        "dataset has too few), through the API, after the read scenarios and before "
        "`create post`. Each of the two scenarios requests its viewer's first feed page, "
        "which holds the same posts as before the blocks or mutes (the harness checks), so "
        "the difference from the plain home feed (which rotates over every viewer) is the "
        "cost of leaving out the authors the viewer blocks or mutes. `×` is p50 over the "
        "plain feed's; CPU is the server's, plus PostgreSQL's on PostgreSQL.",
        "",
        "| database / workload | accounts blocked / muted | home feed p50 / p99 ms | "
        "CPU µs/req | blocking: p50 / p99 ms | CPU µs/req | muting: p50 / p99 ms | "
        "CPU µs/req | set-up |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def mastodon_section(results: dict) -> list[str]:
    """Each Mastodon-compatible scenario beside its Roost equivalent in the same run."""
    def cpu(s: dict) -> str:
        text = f"{s['cpu_us_per_request']:.0f}"
        if "postgres_cpu_us_per_request" in s:
            text += f" + {s['postgres_cpu_us_per_request']:.0f}"
        return text

    def mark(ok: bool) -> str:
        return "✓" if ok else "✗"

    rows = []
    for run in results["runs"]:
        for pair in mastodon_pairs(run):
            roost, mastodon = find(run, pair["roost"]), find(run, pair["mastodon"])
            rows.append(
                f"| {run['db']} / {run['workload']} | {scenario_label(pair['roost'], run)} | "
                f"{number(roost['rps'])} / {number(mastodon['rps'])} | "
                f"{pair['rps_ratio']:.2f}× {mark(pair['rps_within'])} | "
                f"{roost['p50_ms']:.2f} / {mastodon['p50_ms']:.2f} | "
                f"{roost['p99_ms']:.2f} / {mastodon['p99_ms']:.2f} | "
                f"{cpu(roost)} / {cpu(mastodon)} | "
                f"{pair['cpu_ratio']:.2f}× {mark(pair['cpu_within'])} | "
                f"{number(roost['bytes_per_response'])} / "
                f"{number(mastodon['bytes_per_response'])} |")
    failed = [run for run in results["runs"] if "error" in run.get("mastodon", {})]
    if not rows and not failed:
        return []
    tolerance = f"{MASTODON_TOLERANCE * 100:.0f} %"
    out = [
        "### The Mastodon-compatible API next to Roost's own",
        "",
        "Each `masto_*` scenario runs right after its Roost equivalent, with the same "
        "tokens, the same posts in the same order (under their Mastodon ids) and the same "
        "page size, on the Mastodon-compatible listener of the same server. Each pair is "
        "Roost / Mastodon; a ratio is Mastodon's over Roost's. The req/s ratio is within "
        f"{tolerance} (✓) when Mastodon serves at least "
        f"{100 - MASTODON_TOLERANCE * 100:.0f} % of Roost's requests per second; the CPU "
        f"ratio when Mastodon costs at most {tolerance} more CPU per request (the "
        "server's, plus PostgreSQL's on PostgreSQL), the steadier figure on a shared "
        "machine.",
        "",
    ]
    if rows:
        out += [
            "| database / workload | Roost scenario | req/s | req/s ratio | p50 ms | p99 ms | "
            "CPU µs/req | CPU ratio | bytes/response |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    for run in failed:
        out.append(f"- {run['db']} / {run['workload']}: not measured, the check failed: "
                   f"{run['mastodon']['error']}")
    if failed:
        out.append("")
    return out


def report_body(results: dict, charts: dict[str, str]) -> str:
    machine = results["machine"]
    settings = results["settings"]
    out = [BEGIN, ""]
    out.append(f"Run `{results['run_id']}` ({'smoke' if settings['smoke'] else 'full'}), "
               f"commit `{results['commit'] or 'unknown'}`"
               + (" with uncommitted changes" if results.get("dirty") else "")
               + f", {results['date']}.")
    out.append("")
    out.append(f"- **Machine:** {machine['cpu']}, {machine['cores']} cores, "
               f"{machine['memory_gib']} GiB RAM, Linux {machine['kernel']}"
               + (f" ({machine['os']})" if machine.get("os") else "") + ".")
    out.append(f"- **Load generator:** {results['tools'].get('wrk', 'wrk')} on the same machine "
               f"over loopback, `wrk -t{settings['threads']} -c{settings['connections']} "
               f"-d{settings['duration']}s` per scenario with `bench/scenario.lua`, which "
               "rotates tokens, post ids, tags and search terms; every response outside 2xx "
               "counts as an error.")
    out.append(f"- **Server:** `{settings['binary_kind']}` build, `ROOST_RATE_LIMITS=off`, "
               "`RUST_LOG=warn`, default pool and Argon2 settings"
               + (f", plus {', '.join(f'`{k}={v}`' for k, v in settings['env'].items())}"
                  if settings.get("env") else "") + ".")
    load = results.get("load_before", [])
    out.append(f"- **Machine load before the run:** load average "
               f"{' / '.join(str(v) for v in load)} (1 / 5 / 15 min). The `other cores` "
               "figures in the JSON say how much CPU other processes took during each "
               "scenario.")
    out.append("")
    out.append("Columns: `req/s` is completed requests per second; `p50`/`p99` are wrk's "
               "latency percentiles; `errors` counts non-2xx responses plus socket errors "
               "and timeouts; RSS is the server's `VmRSS`, less the pages of the SQLite file it maps (the kernel's page cache for the file, shared and reclaimable), before the scenario and its "
               "maximum during it (sampled every 50 ms); server CPU is its user + system "
               "time divided by the requests served (on PostgreSQL the database's own "
               "processes are in the next column); `of ceiling` is req/s as a fraction of "
               "`/healthz` in the same run. Peer figures and targets are the issue's, "
               "measured with the small workload on SQLite.")
    out.append("")

    # Overview: start-up and memory.
    out.append("### Start-up and memory")
    out.append("")
    out.append(f"| database | workload | dataset | start to serving (target ≤ "
               f"{TARGET_START_MS} ms) | idle RSS (target ≤ {TARGET_IDLE_RSS_MB} MiB) | "
               f"max RSS under load (target ≤ {TARGET_LOAD_RSS_MB} MiB) | database size | "
               "set-up |")
    out.append("|---|---|---|---|---|---|---|---|")
    for run in results["runs"]:
        ds = run.get("dataset", {})
        dataset = ", ".join(f"{number(v)} {k}" for k, v in ds.items())
        peak = max((s["rss_max_kib"] for s in run["scenarios"]), default=0)
        setup = f"seed {run['seed_seconds']} s + " if "seed_seconds" in run else ""
        setup += f"API {run['prepare_seconds']} s"
        privacy = run.get("privacy", {})
        if "error" in privacy:
            setup += " + blocks and mutes (failed)"
        elif "setup_seconds" in privacy:
            setup += f" + blocks and mutes {privacy['setup_seconds']} s"
        out.append(f"| {run['db']} | {run['workload']} | {dataset} | "
                   f"{run['start_to_serving_ms']} ms | {mib(run['idle_rss_kib'])} MiB | "
                   f"{mib(peak)} MiB | {run.get('database_mb', 0):.0f} MB | {setup} |")
    out.append("")

    for run in results["runs"]:
        out.append(f"### {'SQLite' if run['db'] == 'sqlite' else 'PostgreSQL'}, "
                   f"{run['workload']} workload")
        out.append("")
        out.extend(run_table(run))
        out.append("")

    # Feed against dataset size.
    pairs = []
    for db in ("sqlite", "postgres"):
        small = next((r for r in results["runs"] if r["db"] == db and r["workload"] == "small"), None)
        large = next((r for r in results["runs"] if r["db"] == db and r["workload"] == "large"), None)
        if small and large and find(small, "feed") and find(large, "feed"):
            pairs.append((db, small, large))
    if pairs:
        out.append("### Feed latency against dataset size")
        out.append("")
        out.append("| database | feed p50 small → large | feed p99 small → large | "
                   "large ÷ small p50 (target ≤ 2×) | page 1 → deep page p50 | "
                   "deep ÷ first p50 (target ≤ 1.5×) |")
        out.append("|---|---|---|---|---|---|")
        for db, small, large in pairs:
            fs, fl, deep = find(small, "feed"), find(large, "feed"), find(large, "feed_deep")
            ratio = fl["p50_ms"] / fs["p50_ms"] if fs["p50_ms"] else 0
            row = (f"| {db} | {fs['p50_ms']:.2f} → {fl['p50_ms']:.2f} ms | "
                   f"{fs['p99_ms']:.2f} → {fl['p99_ms']:.2f} ms | {ratio:.2f}× "
                   f"{'✓' if ratio <= 2 else '✗'} |")
            if deep:
                deep_ratio = deep["p50_ms"] / fl["p50_ms"] if fl["p50_ms"] else 0
                row += (f" {fl['p50_ms']:.2f} → {deep['p50_ms']:.2f} ms (page "
                        f"{large.get('deep_page')}) | {deep_ratio:.2f}× "
                        f"{'✓' if deep_ratio <= 1.5 else '✗'} |")
            else:
                row += " – | – |"
            out.append(row)
        out.append("")

    out.extend(mastodon_section(results))
    out.extend(privacy_section(results))

    profiled = [(run, sc) for run in results["runs"] for sc in run["scenarios"] if sc.get("profile")]
    if profiled:
        kinds = [name for name, _ in SAMPLE_KINDS] + ["other"]
        used = [k for k in kinds if any(sc["profile"]["by_kind"].get(k, 0) >= 1 for _, sc in profiled)]
        out.append("### Where the server's CPU time went (perf samples, %)")
        out.append("")
        out.append("| database / workload | scenario | samples | " + " | ".join(used) + " |")
        out.append("|---|---|---|" + "---|" * len(used))
        for run, sc in profiled:
            shares = sc["profile"]["by_kind"]
            out.append(f"| {run['db']} / {run['workload']} | {scenario_label(sc['name'], run)} | "
                       f"{sc['profile']['samples']} | "
                       + " | ".join(f"{shares.get(k, 0):.0f}" for k in used) + " |")
        out.append("")

    if charts:
        out.append("### Charts")
        out.append("")
        for title, link in charts.items():
            out.append(f"![{title}]({link})")
            out.append("")
    issues = problems(results)
    if issues:
        out.append("### Errors in this run")
        out.append("")
        out.extend(f"- {issue}" for issue in issues)
        out.append("")
    out.append(f"Raw figures: `{results.get('results_file', '')}`.")
    out.append("")
    out.append(END)
    return "\n".join(out)


REPORT_HEAD = """# Benchmarks

Measured by `bench/run` (see `bench/README.md`): every figure below comes from one run
of the harness, which rewrites the part of this file between the two markers and leaves the
rest alone.

"""


def write_report(results: dict, path: Path, charts: dict[str, str]) -> None:
    body = report_body(results, charts)
    if path.exists():
        text = path.read_text()
        if BEGIN in text and END in text:
            before, rest = text.split(BEGIN, 1)
            after = rest.split(END, 1)[1]
            path.write_text(before + body + after)
            return
    path.write_text(REPORT_HEAD + body + "\n")


def gnuplot(script: str, workdir: Path) -> None:
    subprocess.run(["gnuplot"], input=script, text=True, cwd=workdir, check=True,
                   capture_output=True)


def write_charts(results: dict, out_dir: Path, link_prefix: str) -> dict[str, str]:
    """Throughput per scenario beside the peers' figures, and feed latency against
    dataset size, as SVG."""
    if shutil.which("gnuplot") is None:
        return {}
    charts = {}
    small = {r["db"]: r for r in results["runs"] if r["workload"] == "small"}
    names = [n for n in ("feed", "post", "tag", "search", "me", "create_post", "login")
             if any(find(r, n) for r in small.values())]
    if names:
        rows = []
        for name in names:
            def value(db: str) -> str:
                s = find(small[db], name) if db in small else None
                return f"{s['rps']:.1f}" if s and s["rps"] > 0 else "-"
            peer = PEERS[name]
            rows.append("\t".join([f'"{LABELS[name].replace("`", "")}"', value("sqlite"),
                                   value("postgres"), str(peer.get("gts_rps", "-")),
                                   str(peer.get("drf_rps", "-")),
                                   str(peer.get("target_rps", "-"))]))
        (out_dir / "throughput.dat").write_text("\n".join(rows) + "\n")
        gnuplot("""
set terminal svg size 1100,520 dynamic enhanced font "sans,12" background rgb "white"
set output "throughput.svg"
set title "Throughput per scenario, small workload (req/s, log scale; peers: upper end of their range)"
set datafile missing "-"
set datafile separator "\\t"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [1:*]
set grid ytics
set key outside right top
set xtics rotate by -20
plot "throughput.dat" using 2:xtic(1) title "Roost, SQLite" lc rgb "#1f77b4", \\
     "" using 3 title "Roost, PostgreSQL" lc rgb "#17becf", \\
     "" using 4 title "GoToSocial 0.19" lc rgb "#ff7f0e", \\
     "" using 5 title "Django REST Framework" lc rgb "#7f7f7f", \\
     "" using 6 title "Roost target" lc rgb "#2ca02c"
""", out_dir)
        charts["Throughput per scenario beside the peers"] = f"{link_prefix}throughput.svg"

    rows = []
    for db in ("sqlite", "postgres"):
        for run in results["runs"]:
            if run["db"] != db or not find(run, "feed"):
                continue
            posts = run.get("dataset", {}).get("posts", 0)
            feed = find(run, "feed")
            deep = find(run, "feed_deep")
            rows.append((db, posts, feed["p50_ms"], feed["p99_ms"],
                         deep["p50_ms"] if deep else None, deep["p99_ms"] if deep else None))
    if rows and len({r[1] for r in rows}) > 1:
        lines = []
        for db in ("sqlite", "postgres"):
            lines.append(f"# {db}")
            for r in sorted(x for x in rows if x[0] == db):
                lines.append("\t".join([str(r[1]), str(r[2]), str(r[3]),
                                        "-" if r[4] is None else str(r[4]),
                                        "-" if r[5] is None else str(r[5])]))
            lines.extend(["", ""])
        (out_dir / "feed-latency.dat").write_text("\n".join(lines))
        gnuplot("""
set terminal svg size 900,480 dynamic enhanced font "sans,12" background rgb "white"
set output "feed-latency.svg"
set title "Home feed latency against dataset size"
set datafile missing "-"
set datafile separator "\\t"
set logscale x
set xlabel "posts in the database (log scale)"
set ylabel "latency (ms)"
set yrange [0:*]
set grid
set key top left
plot "feed-latency.dat" index 0 using 1:2 with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "SQLite p50, page 1", \\
     "" index 0 using 1:3 with linespoints lw 2 pt 7 dt 2 lc rgb "#1f77b4" title "SQLite p99, page 1", \\
     "" index 0 using 1:4 with points pt 9 ps 1.5 lc rgb "#1f77b4" title "SQLite p50, deep page", \\
     "" index 1 using 1:2 with linespoints lw 2 pt 5 lc rgb "#d62728" title "PostgreSQL p50, page 1", \\
     "" index 1 using 1:3 with linespoints lw 2 pt 5 dt 2 lc rgb "#d62728" title "PostgreSQL p99, page 1", \\
     "" index 1 using 1:4 with points pt 11 ps 1.5 lc rgb "#d62728" title "PostgreSQL p50, deep page"
""", out_dir)
        charts["Feed latency against dataset size"] = f"{link_prefix}feed-latency.svg"
    for data in ("throughput.dat", "feed-latency.dat"):
        (out_dir / data).unlink(missing_ok=True)
    return charts


def publish(results: dict, results_dir: Path, report_path: Path) -> None:
    link_prefix = os.path.relpath(results_dir, report_path.parent) + "/"
    charts = write_charts(results, results_dir, link_prefix)
    write_report(results, report_path, charts)
    log(f"wrote {report_path}" + (f" and {len(charts)} charts" if charts else ""))
