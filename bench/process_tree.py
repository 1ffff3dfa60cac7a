"""Run a command and measure it as a whole: wall time and the peak of the summed RSS of its process tree (the
job starts dbt in subprocesses: their memory counts too)."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class Measured:
    returncode: int
    wall_seconds: float
    peak_rss_bytes: int
    samples: list[tuple[float, int]]  # (epoch seconds, RSS of the tree)

    def peak_between(self, start: float, end: float) -> int:
        return max((rss for t, rss in self.samples if start <= t <= end), default=0)


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for p in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):  # ended between the listing and the reading
            total += p.memory_info().rss
    return total


def run_measured(args: list[str], log: Path, env: dict[str, str] | None = None, interval: float = 0.25) -> Measured:
    """Run `args`, its output to `log`; sample the tree's RSS every `interval` seconds."""
    log.parent.mkdir(parents=True, exist_ok=True)
    samples: list[tuple[float, int]] = []
    done = threading.Event()
    with open(log, "w", encoding="utf-8") as out:
        t0 = time.perf_counter()
        child = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
        process = psutil.Process(child.pid)

        def sample() -> None:
            while not done.is_set():
                try:
                    samples.append((time.time(), _tree_rss(process)))
                except psutil.NoSuchProcess:
                    return
                done.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = child.wait()
        wall = time.perf_counter() - t0
        done.set()
        sampler.join()
    return Measured(code, wall, max((rss for _, rss in samples), default=0), samples)
