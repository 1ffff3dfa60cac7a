"""Benchmark: the whole nightly job at scale. Prints one table, writes bench/results/pipeline_<orders>.json.

python -m bench.pipeline --orders 1000000 --orders 10000000 [--keep DIR [--resume]]

For each size: the demo data is generated with its last day (2026-06-30) held back as a delivery of its own; then
(a) a full refresh, `crmgrade run` as of that day on the history, (b) the hand-written baseline on the same files
and day (bench/baseline.sql, run by bench/baseline.py) and the check that both grade alike, and (c) the nightly
increment: that day's files delivered (as the nightly simulation delivers them), `crmgrade run --as-of` the next
day on the same warehouse.
Each run is a separate process, measured as a whole (wall time, peak RSS summed over its process tree: the dbt
subprocesses count), its time per stage read from the run's Dagster step events (reports/run_timings.json,
pipeline/defs/step_timings.py).
Dagster runs on an ephemeral instance, as `crmgrade run` does without DAGSTER_HOME.
With `--keep DIR --resume` an invocation goes on where the last one in DIR stopped: each stage (generation, the
full refresh, the baseline, the increment) records its result in DIR/orders_<n>/bench_state.json when it ends,
and stages already recorded are not run again (class State).

Targets (issue 31, at 10M orders): full refresh <= 4x the hand-written DuckDB baseline; increment <= 0.4x the
baseline (which recomputes everything every night); peak RSS <= 4 GiB. Exits 1 when the baseline's grades or
orders disagree with the full refresh's, or when a run fails (after writing what was measured: a size's later runs
are skipped, its JSON says which failed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from bench.baseline import compare
from bench.process_tree import run_measured
from pipeline.demo.generator import DemoSpec, generate
from pipeline.runs.simulate import deliver, write_config

LAST_DAY = date(2026, 6, 30)  # the demo's last day: delivered as the increment
GIB = 2**30
RUNS = ("full_refresh", "baseline", "increment")


class RunFailed(Exception):
    """A measured run exited non-zero; the message names it and its log."""


def dbt_profile(nodes: list[dict]) -> dict:
    """Where the run's dbt steps spent their time: seconds by node type and the slowest nodes, from the node
    times `crmgrade run` writes to run_timings.json (dbt_nodes, from the run's dbt events)."""
    by_type: dict[str, float] = {}
    named = []
    for node in nodes:
        kind, _, name = node["unique_id"].split(".")[:3]
        by_type[kind] = by_type.get(kind, 0.0) + node["seconds"]
        named.append((f"{kind} {name}", round(node["seconds"], 1)))
    return {
        "seconds_by_type": {k: round(v, 1) for k, v in sorted(by_type.items(), key=lambda kv: -kv[1])},
        "nodes": len(named),
        "slowest": sorted(named, key=lambda n: -n[1])[:10],
    }


def measure_run(work: Path, config: Path, as_of: date, name: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    crmgrade = str(Path(sys.executable).parent / "crmgrade")
    args = [crmgrade, "run", "--config", str(config), "--as-of", as_of.isoformat()]
    measured = run_measured(args, work / f"{name}.log", env=env)
    if measured.returncode != 0:
        raise RunFailed(
            f"{name}: crmgrade run failed ({measured.returncode}) after {measured.wall_seconds:.0f} s, "
            f"peak {measured.peak_rss_bytes / GIB:.2f} GiB; see {work / f'{name}.log'}"
        )
    timings = json.loads((work / "reports" / "run_timings.json").read_text(encoding="utf-8"))
    con = duckdb.connect(str(work / "warehouse.duckdb"), read_only=True)
    try:
        [(rows,)] = con.execute(
            "select coalesce(sum(rows_read), 0)::bigint from dq.reconciliation where run_id = ?", [timings["run_id"]]
        ).fetchall()
        [(identity_stages, changed, customers, identity_mode, resolved)] = con.execute(
            "select stage_seconds, changed_customers, customers, mode, resolved_records from identity.runs"
            " where run_id = ?",
            [timings["run_id"]],
        ).fetchall()
        identity_stages = json.loads(identity_stages)
    finally:
        con.close()
    slowest = sorted(((step["step"], round(step["seconds"], 1)) for step in timings["steps"]), key=lambda s: -s[1])
    # the tree's RSS while each step ran (the samples and the step events share the clock)
    step_peaks = {
        step["step"]: round(measured.peak_between(step["started_at"], step["started_at"] + step["seconds"]) / GIB, 2)
        for step in timings["steps"]
    }
    return {
        "as_of_date": as_of.isoformat(),
        "wall_seconds": round(measured.wall_seconds, 1),
        "rows_read": rows,
        "rows_per_second": round(rows / measured.wall_seconds),
        "peak_rss_gib": round(measured.peak_rss_bytes / GIB, 2),
        "stage_seconds": {k: round(v, 1) for k, v in timings["stage_seconds"].items()},
        "slowest_steps": slowest[:6],
        "peak_rss_gib_by_step": dict(sorted(step_peaks.items(), key=lambda kv: -kv[1])[:6]),
        "identity_stage_seconds": identity_stages,
        # a full resolution, or an increment over the records new files can touch (pipeline/identity/increment.py)
        "identity_mode": identity_mode,
        "identity_resolved_records": resolved,
        # what the models built per customer redid (docs/scale.md)
        "customers_changed": changed,
        "customers": customers,
        "dbt": dbt_profile(timings["dbt_nodes"]),
    }


def measure_baseline(work: Path, as_of: date) -> dict:
    out = work / "baseline" / "baseline.duckdb"
    out.parent.mkdir(exist_ok=True)
    out.unlink(missing_ok=True)  # what an interrupted attempt left
    args = [sys.executable, "-m", "bench.baseline", "--root", str(work / "sources"), "--as-of", as_of.isoformat()]
    measured = run_measured([*args, "--out", str(out)], work / "baseline.log")
    log = (work / "baseline.log").read_text(encoding="utf-8")
    if measured.returncode != 0:
        raise RunFailed(f"baseline failed ({measured.returncode}):\n{log[-3000:]}")
    summary = json.loads(log.strip().splitlines()[-1])
    rows = summary["order_lines_kept"]
    return {
        "wall_seconds": round(measured.wall_seconds, 1),
        "peak_rss_gib": round(measured.peak_rss_bytes / GIB, 2),
        **summary,
        "rows_per_second": round(rows / measured.wall_seconds),
        "comparison": compare(work / "warehouse.duckdb", out),
    }


class State:
    """What a size's runs have done so far, in <work>/bench_state.json, so that `--resume` goes on from the first
    stage not done (a 100M-order size can outlast a session). A run interrupted before it finished is run again:
    a full refresh from an empty warehouse (everything but the generated files is removed), an increment on the
    warehouse as the interrupted attempt left it, which its result then says (`after_interrupted_attempt`)."""

    def __init__(self, work: Path, resume: bool) -> None:
        self.path = work / "bench_state.json"
        self.done: dict = json.loads(self.path.read_text(encoding="utf-8")) if resume and self.path.exists() else {}

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.done, indent=2, default=str), encoding="utf-8")
        tmp.replace(self.path)  # a kill while saving leaves the previous state, never half of one

    def stage(self, name: str, fn, label: str):
        """The stage's recorded result, or run it (marking it started first) and record it."""
        if name in self.done:
            print(f"{label} (done earlier, resumed)", flush=True)
            return self.done[name]
        print(label, flush=True)
        interrupted = self.done.get("started") == name
        self.done["started"] = name
        self.save()
        result = fn(interrupted)
        self.done[name] = result
        self.done.pop("started")
        self.save()
        return result


GENERATED = ("sources", "increment", "crmgrade.yml")
STATE = ("bench_state.json", "bench_state.tmp")


def clear(work: Path, keep: tuple[str, ...]) -> None:
    """Remove everything in `work` but the names in `keep`."""
    for path in work.iterdir():
        if path.name not in keep:
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def bench_size(orders: int, work: Path, seed: int, memory_limit: str, resume: bool = False) -> dict:
    customers = max(orders // 6, 10)
    tag = f"[{orders:,} orders]"
    if not resume and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    state = State(work, resume)

    def generated(_interrupted: bool) -> dict:
        clear(work, STATE)  # a generation cut short starts again from nothing
        spec = DemoSpec(customers=customers, seed=seed, orders=orders, end_date=LAST_DAY, daily_from=LAST_DAY)
        generate(work / "sources", spec, progress=lambda _: None)
        shutil.move(work / "sources" / "increments" / LAST_DAY.isoformat(), work / "increment")
        shutil.rmtree(work / "sources" / "increments")
        config = write_config(work, work / "sources")  # the nightly simulation's: everything under `work`
        with config.open("a", encoding="utf-8") as f:
            f.write(f"duckdb:\n  memory_limit: {memory_limit}\n")
        return {"files_held_back": sum(1 for p in (work / "increment").rglob("*") if p.is_file())}

    def full_refresh(_interrupted: bool) -> dict:
        clear(work, GENERATED + STATE)  # from an empty warehouse, also after an interrupted attempt
        return measure_run(work, work / "crmgrade.yml", LAST_DAY, "full")

    def increment(interrupted: bool) -> dict:
        delivered = deliver(work / "increment", work / "sources")
        print(f"{tag}     {delivered} files of {LAST_DAY} delivered", flush=True)
        measured = measure_run(work, work / "crmgrade.yml", LAST_DAY + timedelta(days=1), "increment")
        return {**measured, "after_interrupted_attempt": interrupted}

    result = {"orders": orders, "customers": customers, "duckdb_memory_limit": memory_limit}
    try:
        state.stage("generated", generated, f"{tag} generating {customers:,} customers into {work / 'sources'}")
        full = result["full_refresh"] = state.stage(
            "full_refresh", full_refresh, f"{tag} (a) full refresh as of {LAST_DAY}"
        )
        print(f"{tag}     {full['wall_seconds']} s, peak {full['peak_rss_gib']} GiB", flush=True)
        baseline = result["baseline"] = state.stage(
            "baseline", lambda _: measure_baseline(work, LAST_DAY), f"{tag} (b) hand-written baseline as of {LAST_DAY}"
        )
        result["full_over_baseline"] = round(full["wall_seconds"] / baseline["wall_seconds"], 2)
        check = baseline["comparison"]
        print(
            f"{tag}     {baseline['wall_seconds']} s, peak {baseline['peak_rss_gib']} GiB; "
            f"same grade for {check['same_grade']:,} of {check['customers_compared']:,} customers compared",
            flush=True,
        )
        incr = result["increment"] = state.stage(
            "increment", increment, f"{tag} (c) increment: the files of {LAST_DAY}"
        )
        result["increment_over_full"] = round(incr["wall_seconds"] / full["wall_seconds"], 3)
        result["increment_over_baseline"] = round(incr["wall_seconds"] / baseline["wall_seconds"], 2)
        print(f"{tag}     {incr['wall_seconds']} s, peak {incr['peak_rss_gib']} GiB", flush=True)
    except RunFailed as failed:
        # What ran is still measured and written; the table says which run failed.
        print(f"{tag}     FAILED: {failed}", flush=True)
        result["failed"] = str(failed)
    return result


def table(results: list[dict]) -> str:
    lines = [
        "| orders | run | wall s | rows read | rows/s | peak RSS GiB | slowest stages (s) |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        for name in RUNS:
            if name not in r:
                continue
            m = r[name]
            if name == "baseline":
                stages = f"prepare {m['prepare_seconds']:.0f}, sql {m['sql_seconds']:.0f}"
                rows = m["order_lines_kept"]
            else:
                stages = ", ".join(f"{k} {v:.0f}" for k, v in list(m["stage_seconds"].items())[:4])
                rows = m["rows_read"]
            lines.append(
                f"| {r['orders']:,} | {name} | {m['wall_seconds']:.0f} | {rows:,} | "
                f"{m['rows_per_second']:,} | {m['peak_rss_gib']:.2f} | {stages} |"
            )
    lines.append("")
    for r in results:
        if "failed" in r:
            lines.append(f"{r['orders']:,} orders: FAILED {r['failed']}")
        if "full_over_baseline" in r:
            lines.append(f"{r['orders']:,} orders: full / baseline {r['full_over_baseline']:.2f}x (target <= 4 at 10M)")
        if "increment_over_full" in r:
            lines.append(
                f"{r['orders']:,} orders: increment / baseline {r['increment_over_baseline']:.2f}x"
                f" (target <= 0.4 at 10M), increment / full {r['increment_over_full']:.1%}"
            )
        if "baseline" not in r:
            continue
        check = r["baseline"]["comparison"]
        lines += [
            f"  grades: {'AGREE' if check['grades_agree'] else 'DISAGREE'} on {check['same_grade']:,} of "
            f"{check['customers_compared']:,} customers whose records are the same in both "
            f"({check['compared_share']:.0%} of the {check['customers_graded_pipeline']:,} graded; "
            f"{check.get('quantile_population', 0):,} apart, a B2B money quintile of other customers); orders: "
            f"{'AGREE' if check['orders_agree'] else 'DISAGREE'} ({check['orders_only_in_pipeline']} only in crmgrade, "
            f"{check['orders_only_in_baseline']} only in the baseline, {check['orders_differing']} differing)",
        ]
    for r in results:
        if "full_refresh" not in r:
            continue
        peaks = ", ".join(f"{k} {v}" for k, v in r["full_refresh"]["peak_rss_gib_by_step"].items())
        lines.append(
            f"peak RSS (GiB) by step, full refresh at {r['orders']:,} "
            f"(DuckDB memory_limit {r['duckdb_memory_limit']}): {peaks}"
        )
    for r in results:
        for name in ("full_refresh", "increment"):
            if name not in r:
                continue
            m = r[name]
            dbt = ", ".join(f"{k} {v:.0f}" for k, v in m["dbt"]["seconds_by_type"].items())
            identity = ", ".join(f"{k} {v:.0f}" for k, v in m["identity_stage_seconds"].items())
            changed = (
                f"; customers changed {m['customers_changed']:,} of {m['customers']:,}" if "customers" in m else ""
            )
            mode = (
                f" ({m['identity_mode']}, {m['identity_resolved_records']:,} records resolved)"
                if "identity_mode" in m
                else ""
            )
            lines.append(
                f"{name} at {r['orders']:,}: dbt node seconds {dbt} ({m['dbt']['nodes']} nodes); "
                f"identity stages {identity}{mode}{changed}"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, action="append", help="repeatable (default: 1M and 10M)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", type=Path, default=None, help="work here and keep it (default: a temp folder)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="with --keep: go on from the first stage a previous invocation did not finish (bench_state.json)",
    )
    parser.add_argument(
        "--memory-limit",
        default="3GB",
        help="crmgrade.yml duckdb.memory_limit of the runs (default 3GB: the 4 GiB target less Python's share)",
    )
    args = parser.parse_args()
    if args.resume and args.keep is None:
        parser.error("--resume needs --keep DIR (the folder of the run to go on with)")
    sizes = args.orders or [1_000_000, 10_000_000]
    results = []
    with tempfile.TemporaryDirectory(prefix="crmgrade-bench-") as tmp:
        root = args.keep or Path(tmp)
        for orders in sizes:
            work = root / f"orders_{orders}"
            results.append(bench_size(orders, work, args.seed, args.memory_limit, resume=args.resume))
    text = table(results)
    print("\n" + text)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    for r in results:
        doc = {
            "benchmark": "pipeline",
            "at": datetime.now().isoformat(timespec="seconds"),
            "machine": f"{platform.machine()} {platform.python_version()} {os.cpu_count()} cpus",
            **r,
            "targets": {
                "full_over_baseline": "<= 4 at 10M",
                "increment_over_baseline": "<= 0.4 at 10M",
                "peak_rss_gib": "<= 4 at 10M",
            },
        }
        text = json.dumps(doc, indent=2, default=str, ensure_ascii=False) + "\n"
        (out / f"pipeline_{r['orders']}.json").write_text(text, encoding="utf-8")
    checks = [r["baseline"]["comparison"] for r in results if "baseline" in r]
    if not all(c["grades_agree"] and c["orders_agree"] for c in checks):
        raise SystemExit("the baseline and crmgrade disagree: see the table and bench/results")
    if any("failed" in r for r in results):
        raise SystemExit("a run failed: see the table and bench/results")


if __name__ == "__main__":
    main()
