"""Benchmark: the demo `crmgrade run` as a newcomer meets it, then a night with no new files.

python -m bench.demo [--keep DIR]

Runs, each a process of its own measured as a whole (wall time, peak RSS of its process tree):
  (a) first run: the repository's crmgrade.yml with every path it writes moved into a work folder, so the run
      generates the demo data (sources.root is missing) and builds the warehouse from nothing, as `make run`
      does on a fresh clone (after the install, which is not timed);
  (b) no-op run: the same command again, no new files: it finds nothing changed and says so (pipeline/runs/inputs.py);
  (c) forced re-run: the same with --force, every step executed again on the same inputs (no target: what the no-op
      saves).
Both with DAGSTER_HOME set to a fresh folder, as `make run` sets it (Dagster then writes every event to SQLite).
Prints the figures beside the targets (issue 31: first run <= 45 s, no-op <= 20 s) and writes
bench/results/demo.json. Exits 1 when a run fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import yaml

from bench.process_tree import run_measured

REPO = Path(__file__).resolve().parent.parent
GIB = 2**30
TARGETS = {"first_run": 45.0, "noop_run": 20.0}
RUNS = {"first_run": [], "noop_run": [], "forced_rerun": ["--force"]}


def work_config(work: Path) -> Path:
    """crmgrade.yml as shipped, with what it reads resolved into the repository and what it writes into `work`."""
    config = yaml.safe_load((REPO / "crmgrade.yml").read_text(encoding="utf-8"))
    config["warehouse"] = str(work / "warehouse.duckdb")
    config["sources"] = {"root": str(work / "demo"), "contracts": str(REPO / "data" / "contracts")}
    config["demo"]["dir"] = str(work / "demo")  # the one folder the demo generates into
    config["reports_dir"] = str(work / "reports")
    config["grading"] = str(REPO / config["grading"])
    config["rules"] = str(REPO / config["rules"])
    config["serving"]["dir"] = str(work / "serving")
    config["privacy"]["dir"] = str(work / "privacy")
    path = work / "crmgrade.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def measure(work: Path, config: Path, name: str, env: dict[str, str]) -> dict:
    crmgrade = str(Path(sys.executable).parent / "crmgrade")
    timings_file = work / "reports" / "run_timings.json"
    before = timings_file.stat().st_mtime_ns if timings_file.exists() else None
    measured = run_measured([crmgrade, "run", "--config", str(config), *RUNS[name]], work / f"{name}.log", env=env)
    if measured.returncode != 0:
        log = (work / f"{name}.log").read_text(encoding="utf-8")
        raise SystemExit(f"{name}: crmgrade run failed ({measured.returncode}):\n{log[-3000:]}")
    figures = {"wall_seconds": round(measured.wall_seconds, 1), "peak_rss_gib": round(measured.peak_rss_bytes / GIB, 2)}
    if before is not None and timings_file.stat().st_mtime_ns == before:  # no step ran: nothing had changed
        return {**figures, "skipped": True, "stage_seconds": {}, "steps_span_seconds": 0.0, "slowest_steps": []}
    timings = json.loads(timings_file.read_text(encoding="utf-8"))
    steps = timings["steps"]
    first_start = min(s["started_at"] for s in steps)
    last_end = max(s["started_at"] + s["seconds"] for s in steps)
    return {
        **figures,
        "skipped": False,
        "stage_seconds": {k: round(v, 1) for k, v in timings["stage_seconds"].items()},
        # the steps' span against the process's: the rest is start-up, demo generation and the summary
        "steps_span_seconds": round(last_end - first_start, 1),
        "slowest_steps": sorted(((s["step"], round(s["seconds"], 1)) for s in steps), key=lambda s: -s[1])[:6],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, default=None, help="work here and keep it (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crmgrade-bench-demo-") as tmp:
        work = args.keep or Path(tmp)
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        config = work_config(work)
        env = {**os.environ, "DAGSTER_HOME": str(work / "dagster_home")}
        env.pop("CRMGRADE_CONFIG", None)
        env.pop("CRMGRADE_WAREHOUSE", None)  # the Makefile exports the repository's: the config's must win
        (work / "dagster_home").mkdir()
        results = {}
        for name in RUNS:
            print(f"(demo) {name.replace('_', ' ')} ...", flush=True)
            results[name] = measure(work, config, name, env)
    lines = [
        "| run | wall s | target s | met | peak RSS GiB | steps span s | stages (s) |",
        "|---|---:|---:|---|---:|---:|---|",
    ]
    for name, m in results.items():
        stages = ", ".join(f"{k} {v:.0f}" for k, v in m["stage_seconds"].items()) or "none: nothing had changed"
        target = TARGETS.get(name)
        met = "-" if target is None else "yes" if m["wall_seconds"] <= target else "NO"
        lines.append(
            f"| {name} | {m['wall_seconds']:.1f} | {'-' if target is None else f'{target:.0f}'} | {met} | "
            f"{m['peak_rss_gib']:.2f} | {m['steps_span_seconds']:.1f} | {stages} |"
        )
    print("\n" + "\n".join(lines))
    doc = {
        "benchmark": "demo",
        "at": datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.python_version()} {os.cpu_count()} cpus",
        **results,
        "targets_seconds": TARGETS,
    }
    out = Path(__file__).parent / "results" / "demo.json"
    out.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
