"""The server under test: one `roost serve` process on a free loopback port, with its
Mastodon-compatible listener on another (started, ready at the first 200 on /healthz,
stopped), its other subcommands (`migrate`, `seed`) with
the same environment, waiting for its CPU to go quiet, and its CPU time and memory from
/proc, RSS sampled every 50 ms during a scenario."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from .common import BenchError
from .environment import Database


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------------
# /proc readings of the server process

def proc_cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks."""
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def proc_rss_kib(pid: int) -> int:
    """The server's resident set (`VmRSS`) less the pages of SQLite database files it has
    mapped (`mmap_size`): those are the kernel's page cache for the file, shared and
    reclaimable, and reported apart by `proc_mapped_db_kib`."""
    with open(f"/proc/{pid}/status") as file:
        for line in file:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) - proc_mapped_db_kib(pid)
    return 0


def proc_mapped_db_kib(pid: int) -> int:
    """Resident pages of the SQLite database files the server maps."""
    total = 0
    in_db = False
    try:
        with open(f"/proc/{pid}/smaps") as file:
            for line in file:
                first = line.split(maxsplit=1)[0]
                if "-" in first and not first.endswith(":"):
                    in_db = line.rstrip().endswith(".db")
                elif in_db and first == "Rss:":
                    total += int(line.split()[1])
    except OSError:
        return 0
    return total


# ---------------------------------------------------------------------------------------
# The server

class Server:
    """One `roost serve` process on a loopback port; its Mastodon-compatible API listens
    on `mastodon_port` (a binary older than that API ignores the setting)."""

    def __init__(self, binary: Path, database: Database, workdir: Path, extra_env: dict):
        self.binary = binary
        self.port = free_port()
        self.mastodon_port = free_port()
        while self.mastodon_port == self.port:
            self.mastodon_port = free_port()
        self.workdir = workdir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
        self.env.update({
            "ROOST_DATABASE_URL": database.url,
            "ROOST_BIND": f"127.0.0.1:{self.port}",
            "ROOST_MASTODON_BIND": f"127.0.0.1:{self.mastodon_port}",
            "ROOST_MEDIA_DIR": str(workdir / "media"),
            "ROOST_RATE_LIMITS": "off",
            "RUST_LOG": "warn",
        })
        self.env.update(extra_env)
        self.log_path = workdir / "server.log"
        self.process: subprocess.Popen | None = None

    def command(self, *args: str, timeout: float | None = None) -> str:
        """Runs another subcommand (`migrate`, `seed`) with the server's environment."""
        result = subprocess.run([str(self.binary), *args], env=self.env, cwd=self.workdir,
                                capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise BenchError(f"roost {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def start(self) -> float:
        """Starts the server; returns seconds from spawn to the first 200 on /healthz."""
        log_file = open(self.log_path, "a")
        started = time.perf_counter()
        self.process = subprocess.Popen([str(self.binary), "serve"], env=self.env,
                                        cwd=self.workdir, stdout=log_file, stderr=log_file)
        log_file.close()
        deadline = started + 60
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"the server exited with {self.process.returncode}:\n"
                                 f"{self.log_tail()}")
            if healthz_ok(self.port):
                return time.perf_counter() - started
            time.sleep(0.0005)
        raise BenchError("the server did not answer /healthz within 60 s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def settle(self, limit: float = 10.0) -> None:
        """Waits until the server stops using CPU (queued work from the last run drained)."""
        deadline = time.monotonic() + limit
        last = proc_cpu_ticks(self.pid)
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = proc_cpu_ticks(self.pid)
            if now - last == 0:
                return
            last = now

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def healthz_ok(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            return sock.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


class RssSampler(threading.Thread):
    """Samples the server's resident memory every 50 ms, keeping the maximum."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = proc_rss_kib(pid)
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.05):
            try:
                self.peak = max(self.peak, proc_rss_kib(self.pid))
            except OSError:
                return
