"""Thirty nights of the job on the demo: one day's files delivered, then the nightly run, day after day.

The generator writes the history up to the day before `start` as the sources, and every later day of the dated
channels as an increment (pipeline/demo/generator.py, `daily_from`), with a planted drift: from `drift_day` on
the Tmall export carries no buyer phone. The first night grades as of `start` on the history alone; each later
night receives the previous day's increment and grades as of its own date - the job a scheduler would run.
At the end the warehouse must hold a grade snapshot per night, migrations between every two consecutive
nights, and the planted drift among monitoring.drift_alerts.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb

from pipeline.demo.generator import DemoSpec, generate
from pipeline.paths import REPO_ROOT

PLANTED_ALERT = ("source_nulls", "tmall.phone")  # (alert_type, subject) the planted drift must raise


@dataclass
class SimulationResult:
    warehouse: Path
    nights: list[date]
    snapshots: list[date]
    consecutive_pairs: int  # nights compared with the night before in grade_migrations (horizon 'previous')
    alerts: list[tuple[date, str, str, str]]  # (as_of_date, alert_type, subject, evidence)
    planted_alert_on: date | None  # first night the planted drift was alerted
    seconds_per_night: list[float] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        out = []
        if self.snapshots != self.nights:
            out.append(f"{len(self.snapshots)} grade snapshots for {len(self.nights)} nights")
        if self.consecutive_pairs != len(self.nights) - 1:
            out.append(f"migrations between {self.consecutive_pairs} of {len(self.nights) - 1} consecutive nights")
        if self.planted_alert_on is None:
            out.append(f"no {PLANTED_ALERT[0]} alert on {PLANTED_ALERT[1]} for the planted drift")
        return out


def write_config(workdir: Path, sources: Path) -> Path:
    config = workdir / "crmgrade.yml"
    config.write_text(
        f"warehouse: {workdir / 'warehouse.duckdb'}\n"
        f"sources:\n  root: {sources}\n  contracts: {REPO_ROOT / 'data' / 'contracts'}\n"
        f"reports_dir: {workdir / 'reports'}\n",
        encoding="utf-8",
    )
    return config


def deliver(increment: Path, sources: Path) -> int:
    """Move one day's files into the sources folder, as an export job would drop them. Returns how many."""
    files = sorted(p for p in increment.rglob("*") if p.is_file()) if increment.is_dir() else []
    for path in files:
        target = sources / path.relative_to(increment)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
    return len(files)


def simulate(
    workdir: Path,
    nights: int = 30,
    customers: int = 1000,
    seed: int = 42,
    start: date = date(2026, 7, 1),
    drift_day: int = 20,
    progress: Callable[[str], None] = print,
) -> SimulationResult:
    from pipeline.runs.job import run_job

    if nights < 2:
        raise ValueError("a simulation needs at least two nights")
    workdir = Path(workdir)
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    sources, increments = workdir / "sources", workdir / "increments"
    last_day = start + timedelta(days=nights - 2)  # the last increment: the last night grades the day after it
    drift_from = start + timedelta(days=drift_day - 1)
    spec = DemoSpec(customers=customers, seed=seed, end_date=last_day, daily_from=start, drift_from=drift_from)
    progress(f"Generating {customers:,} customers to {last_day}, one increment per day from {start} ...")
    generate(sources, spec, progress=lambda _: None)
    (sources / "increments").rename(increments)
    config = write_config(workdir, sources)
    schedule = [start + timedelta(days=i) for i in range(nights)]
    seconds: list[float] = []
    for night in schedule:
        delivered = deliver(increments / (night - timedelta(days=1)).isoformat(), sources)
        progress(f"Night of {night}: {delivered} new file(s), grading as of {night} ...")
        t0 = time.perf_counter()
        outcome = run_job(config, as_of=night)
        if not outcome.succeeded:
            raise RuntimeError(
                f"the run as of {night} failed: {outcome.error}; the warehouse is {workdir / 'warehouse.duckdb'}"
            )
        seconds.append(time.perf_counter() - t0)
    return read_result(workdir / "warehouse.duckdb", schedule, seconds)


def read_result(warehouse: Path, nights: list[date], seconds: list[float]) -> SimulationResult:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        snapshots = [
            r[0] for r in con.sql("select distinct as_of_date from history.grade_history order by 1").fetchall()
        ]
        pairs = con.sql(
            """select count(distinct as_of_date) from monitoring.grade_migrations
            where horizon = 'previous' and compared_with_date = as_of_date - interval 1 day"""
        ).fetchall()[0][0]
        alerts = con.sql(
            "select as_of_date, alert_type, subject, evidence from monitoring.drift_alerts order by 1, 2, 3"
        ).fetchall()
    finally:
        con.close()
    planted = [d for d, kind, subject, _ in alerts if (kind, subject) == PLANTED_ALERT]
    return SimulationResult(warehouse, nights, snapshots, pairs, alerts, min(planted, default=None), seconds)
