"""What every part of the harness shares: where the repository's files are, the error
that stops a run, and the log line."""

from __future__ import annotations

import os
import time
from pathlib import Path

# This file is bench/roostbench/common.py: the repository's root is bench/'s parent.
ROOT = Path(__file__).resolve().parent.parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
REPORT = ROOT / "BENCHMARKS.md"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """A step of the benchmark failed; the message says which."""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)
