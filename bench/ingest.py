"""Benchmark: ingest + validation of the demo data at scale, time per stage. Prints one table, writes JSON.

python -m bench.ingest --orders 10000000 [--data DIR]   (DIR: a demo set already generated; else generated)

Target (issue 3): validation under a third of ingest + validate.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import duckdb

from pipeline.contracts import load_contracts
from pipeline.demo.generator import DemoSpec, generate
from pipeline.ingest.loader import IngestOptions, ingest_contract
from pipeline.paths import REPO_ROOT


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--data", type=Path, default=None, help="an existing demo set (default: generate one)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crmgrade-bench-") as tmp:
        data = args.data
        if data is None:
            data = Path(tmp) / "demo"
            generate(data, DemoSpec(customers=max(args.orders // 6, 10), seed=args.seed, orders=args.orders))
        con = duckdb.connect(str(Path(tmp) / "w.duckdb"))
        options = IngestOptions(
            warehouse_tz="Asia/Shanghai", run_id=str(uuid.uuid4()), now=datetime(2026, 11, 23), docs_dir=None
        )
        stages: dict[str, float] = defaultdict(float)
        per_source: dict[str, dict] = {}
        t_all = time.perf_counter()
        for contract in load_contracts(REPO_ROOT / "data/contracts"):
            t0 = time.perf_counter()
            results = ingest_contract(con, contract, data, options=options)
            src = per_source.setdefault(contract.source, defaultdict(float))
            src["seconds"] += time.perf_counter() - t0
            for r in results:
                src["files"] += 1
                src["rows_read"] += r.rows_read or 0
                src["rows_loaded"] += r.rows_loaded
                src["rows_quarantined"] += r.rows_quarantined
                for k, v in r.stage_seconds.items():
                    stages[k] += v
            print(f"  {contract.source:<16} {src['seconds']:7.1f}s  {int(src['rows_read']):>12,} rows", flush=True)
        wall = time.perf_counter() - t_all
        con.close()
    rows = sum(s["rows_read"] for s in per_source.values())
    accounted = sum(stages.values())
    share = stages["validate"] / accounted if accounted else 0
    result = {
        "benchmark": "ingest_and_validate",
        "at": datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.python_version()}",
        "orders": args.orders,
        "rows_read": int(rows),
        "wall_seconds": round(wall, 1),
        "rows_per_second": round(rows / wall),
        "stage_seconds": {k: round(v, 1) for k, v in sorted(stages.items())},
        "validation_share_of_ingest_and_validate": round(share, 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "per_source": {
            k: {kk: round(vv, 1) if kk == "seconds" else int(vv) for kk, vv in v.items()} for k, v in per_source.items()
        },
        "target": "validation < 1/3 of ingest + validate",
    }
    print(f"\n{int(rows):,} rows in {wall:.1f} s ({rows / wall:,.0f} rows/s), peak RSS {result['peak_rss_mib']:,} MiB")
    print("stage seconds:", ", ".join(f"{k} {v:.1f}" for k, v in result["stage_seconds"].items()))
    print(f"validation share: {share:.1%} (target < 33%)")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"ingest_{args.orders}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
