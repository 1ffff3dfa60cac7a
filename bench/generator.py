"""Benchmark: the demo-data generator at scale. Prints wall time per step, rows written and peak RSS.

python -m bench.generator --orders 10000000          (target: under 120 s on 2 cores)
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import tempfile
import time
from datetime import datetime
from pathlib import Path

import polars as pl

from pipeline.demo.generator import DemoSpec, generate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=None, help="default: orders / 6")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=2, help="writer threads (default 2)")
    parser.add_argument("--keep", type=Path, default=None, help="write here and keep (default: a temp folder)")
    args = parser.parse_args()
    customers = args.customers or max(args.orders // 6, 10)
    spec = DemoSpec(customers=customers, seed=args.seed, orders=args.orders)
    with tempfile.TemporaryDirectory(prefix="crmgrade-bench-") as tmp:
        out = args.keep or Path(tmp) / "demo"
        t0 = time.perf_counter()
        steps = generate(out, spec, workers=args.workers)
        wall = time.perf_counter() - t0
        records = pl.scan_parquet(out / "truth/records.parquet").select(pl.len()).collect().item()
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "benchmark": "demo_generator",
        "at": datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.python_version()}",
        "customers": customers,
        "orders": args.orders,
        "records_written": records,
        "bytes_written": size,
        "wall_seconds": round(wall, 1),
        "orders_per_second": round(args.orders / wall),
        "workers": args.workers,
        "peak_rss_mib": round(peak_mib),
        "steps_seconds": {k: round(v, 2) for k, v in steps.items()},
        "target": "10M orders < 120 s",
    }
    print(
        f"\n{args.orders:,} orders, {customers:,} customers: {wall:.1f} s wall, {records:,} records, "
        f"{size / 2**30:.2f} GiB, peak RSS {peak_mib:,.0f} MiB"
    )
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / f"generator_{args.orders}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
