"""The machine and its tools: installing wrk, gnuplot, psql and perf with apt-get when
missing, the release build, machine-wide readings from /proc (CPU time of the machine and
of PostgreSQL's processes, load average, CPU model and memory), git and tool versions, and
the fresh database of each run (a SQLite file in the scratch folder, or a PostgreSQL
database created and dropped with psql)."""

from __future__ import annotations

import os
import platform
import random
import resource
import shutil
import subprocess
import urllib.parse
from pathlib import Path

from .common import ROOT, log


# ---------------------------------------------------------------------------------------
# Tools

def ensure_tools(need_psql: bool, need_gnuplot: bool, need_perf: bool) -> None:
    """Installs the Debian packages of the missing tools (once; nothing when present)."""
    wanted = [("wrk", "wrk")]
    if need_gnuplot:
        wanted.append(("gnuplot", "gnuplot-nox"))
    if need_psql:
        wanted.append(("psql", "postgresql-client"))
    if need_perf:
        wanted.append(("perf", "linux-perf"))
    missing = [package for command, package in wanted if shutil.which(command) is None]
    if not missing:
        return
    log(f"installing {' '.join(missing)} with apt-get")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", *missing], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def build_release() -> Path:
    log("cargo build --release")
    subprocess.run(["cargo", "build", "--release", "--locked"], cwd=ROOT, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    if not target.is_absolute():
        target = ROOT / target
    return target / "release" / "roost"


# ---------------------------------------------------------------------------------------
# Machine readings

def postgres_cpu_ticks() -> int:
    """CPU time of every PostgreSQL process on the machine (its server and backends)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as file:
                text = file.read()
        except OSError:
            continue
        name = text[text.find("(") + 1:text.rfind(")")]
        if name.startswith("postgres"):
            fields = text.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total


def machine_cpu_ticks() -> tuple[int, int]:
    """(busy, total) ticks of all CPUs since boot."""
    with open("/proc/stat") as file:
        values = [int(v) for v in file.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_info() -> dict:
    model = "unknown"
    with open("/proc/cpuinfo") as file:
        for line in file:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo") as file:
        for line in file:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": platform.freedesktop_os_release().get("PRETTY_NAME", "")
        if hasattr(platform, "freedesktop_os_release") else "",
    }


def load_average() -> list[float]:
    with open("/proc/loadavg") as file:
        return [float(v) for v in file.read().split()[:3]]


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def tool_version(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    except OSError:
        return ""
    return (result.stdout or result.stderr).strip().splitlines()[0] if (result.stdout or result.stderr) else ""


# ---------------------------------------------------------------------------------------
# Databases

class Database:
    """A fresh, empty database for one run, removed afterwards."""

    def __init__(self, kind: str, admin_url: str, workdir: Path):
        self.kind = kind
        self.admin_url = admin_url
        self.name = f"roost_bench_{random.SystemRandom().randrange(16**8):08x}"
        if kind == "sqlite":
            self.url = f"sqlite://{workdir / (self.name + '.db')}"
        else:
            parts = urllib.parse.urlsplit(admin_url)
            self.url = urllib.parse.urlunsplit(parts._replace(path="/" + self.name))
            self.psql(f"CREATE DATABASE {self.name}")

    def psql(self, sql: str) -> None:
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", self.admin_url, "-c", sql],
                       check=True, stdout=subprocess.DEVNULL)

    def size_mb(self) -> float:
        if self.kind == "sqlite":
            path = Path(self.url.removeprefix("sqlite://"))
            files = [path, Path(f"{path}-wal")]
            return sum(f.stat().st_size for f in files if f.exists()) / 1e6
        out = subprocess.run(["psql", "-X", "-At", self.admin_url, "-c",
                              f"SELECT pg_database_size('{self.name}')"],
                             capture_output=True, text=True, check=True).stdout
        return int(out.strip()) / 1e6

    def drop(self) -> None:
        if self.kind == "postgres":
            try:
                self.psql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            except subprocess.CalledProcessError:
                log(f"warning: could not drop database {self.name}")
