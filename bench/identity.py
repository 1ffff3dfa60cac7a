"""Benchmark: identity resolution on ~N person records, time per stage and pairwise precision/recall.

python -m bench.identity --customers 80000 [--data DIR]   (DIR: a demo set already generated; else generated)

The demo set is ingested into a temporary warehouse first (not timed here; see bench.ingest), then
pipeline.identity.resolve_identities runs as the Dagster asset runs it. The planted truth scores it.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import duckdb

from pipeline.config import load_settings
from pipeline.contracts import load_contracts
from pipeline.demo.generator import DemoSpec, generate
from pipeline.demo.truth import identity_scores
from pipeline.identity.config import IdentityConfig
from pipeline.identity.resolve import resolve_identities
from pipeline.ingest.loader import IngestOptions, ingest_contract
from pipeline.paths import REPO_ROOT


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=80_000)
    parser.add_argument("--data", type=Path, default=None, help="an existing demo set (default: generate one)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    config: IdentityConfig = load_settings(REPO_ROOT / "crmgrade.yml").identity
    with tempfile.TemporaryDirectory(prefix="crmgrade-bench-") as tmp:
        data = args.data
        if data is None:
            data = Path(tmp) / "demo"
            print(f"generating {args.customers:,} customers into {data}", flush=True)
            generate(data, DemoSpec(customers=args.customers, seed=args.seed), progress=lambda _: None)
        con = duckdb.connect(str(Path(tmp) / "w.duckdb"))
        options = IngestOptions(
            warehouse_tz="Asia/Shanghai", run_id=str(uuid.uuid4()), now=datetime(2026, 11, 23), docs_dir=None
        )
        print("ingesting", flush=True)
        for contract in load_contracts(REPO_ROOT / "data/contracts"):
            ingest_contract(con, contract, data, options=options)
        t0 = time.perf_counter()
        summary = resolve_identities(con, config, str(uuid.uuid4()), datetime(2026, 11, 23))
        wall = time.perf_counter() - t0
        scores = identity_scores(con, data)
        persons = con.sql(f"select count(*) from read_parquet('{data / 'truth/persons.parquet'}')").fetchall()[0][0]
        con.close()
    result = {
        "benchmark": "identity_resolution",
        "at": datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.python_version()}",
        "person_records": summary.records,
        "identified_records": summary.identified_records,
        "identifier_groups": summary.identifier_groups,
        "profiles": summary.profiles,
        "accepted_matches": summary.accepted_matches,
        "customers": summary.customers,
        "planted_persons": persons,
        "wall_seconds": round(wall, 1),
        "stage_seconds": summary.stage_seconds,
        "pairwise_precision": round(scores.precision, 5),
        "pairwise_recall": round(scores.recall, 5),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(result, indent=2))
    out = REPO_ROOT / "bench/results" / f"identity_{summary.records}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
