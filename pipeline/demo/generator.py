"""Deterministic, vectorised demo data of a Chinese multi-channel retailer, with the truth planted beside it.

Persons are drawn from personas (the RFM segment they were built to land in); every record any channel
writes about a person is listed in `truth/records.parquet` with the person behind it, so identity
resolution and cleaning can be scored. The pipeline never reads `truth/`.

Layout written under `out`:
    registry/members.csv                       member registry (UTF-8, English headers)
    marketplaces/tmall/tmall_orders_YYYYMM.csv whole orders, Chinese headers, GBK, masked phones
    marketplaces/jd/jd_order_lines_YYYYMM.csv  order lines, Chinese headers, UTF-8 with BOM
    marketplaces/pdd/pdd_export_YYYYMM.csv     whole orders, amounts in fen, status codes, ';' separated
    stores/pos_YYYYMM.csv                      POS receipt lines, some receipts without number, anonymous buyers
    dealers/<dealer>_sales_YYYY.xlsx           dealer reports, title rows above the header
    interactions/events_YYYYMM.jsonl           calls, e-mail, chat, WeChat, web visits, form fills (UTC times)
    service/tickets.csv, surveys/responses.csv, marketing/campaigns.csv, marketing/campaign_responses.csv,
    b2b/leads.csv, b2b/opportunities.csv
    truth/persons.parquet, truth/records.parquet, truth/dirty_rows.parquet

With `daily_from`, the dated channels (Tmall, JD, PDD, POS, interactions) put each day from that date on in a
file of its own (..._YYYYMMDD.csv) under increments/<YYYY-MM-DD>/, the path it takes once delivered: the
nightly simulation (pipeline/runs/simulate.py) delivers one day at a time. The registry, service, surveys,
marketing, B2B and dealer files are whole exports written once. With `drift_from`, the Tmall export carries no
buyer phone from that day on: a planted drift for monitoring.drift_alerts.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.demo.crm_sources import (
    write_b2b,
    write_interactions,
    write_marketing,
    write_registry,
    write_service,
    write_surveys,
)
from pipeline.demo.files import Truth, move_daily_files
from pipeline.demo.population import DemoSpec, make_orders, make_persons
from pipeline.demo.sales_channels import write_dealers, write_jd, write_pdd, write_pos, write_tmall

STEPS = [
    "persons",
    "orders",
    "registry",
    "tmall",
    "jd",
    "pdd",
    "pos",
    "dealers",
    "interactions",
    "service",
    "surveys",
    "marketing",
    "b2b",
    "truth",
]


def generate(
    out: Path | str, spec: DemoSpec, progress: Callable[[str], None] = print, workers: int = 2
) -> dict[str, float]:
    """Write the whole demo set under `out` (replacing what was there). Returns seconds per step.

    Deterministic for `spec` whatever `workers` is: every step has its own random stream.
    """
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    timings: dict[str, float] = {}
    truth = Truth()

    def step(name: str, fn: Callable[[], object]):
        t0 = time.perf_counter()
        result = fn()
        timings[name] = time.perf_counter() - t0
        progress(f"  {name:<14} {timings[name]:6.1f}s")
        return result

    # Each step draws from its own stream of the seed, so the output does not depend on which thread ran first.
    def rng(name: str) -> np.random.Generator:
        return np.random.default_rng([spec.seed, STEPS.index(name)])

    persons = step("persons", lambda: make_persons(spec, rng("persons")))
    orders = step("orders", lambda: make_orders(spec, persons, rng("orders")))
    end = spec.end_date
    writers: dict[str, Callable[[np.random.Generator], None]] = {
        "tmall": lambda r: write_tmall(out, orders, persons, r, truth, spec.daily_from, spec.drift_from),
        "jd": lambda r: write_jd(out, orders, persons, r, truth, spec.daily_from),
        "interactions": lambda r: write_interactions(out, spec, persons, r, truth),
        "pos": lambda r: write_pos(out, orders, persons, r, truth, spec.daily_from),
        "dealers": lambda r: write_dealers(out, orders, persons, r, truth),
        "registry": lambda r: write_registry(out, persons, r, truth, end),
        "pdd": lambda r: write_pdd(out, orders, persons, r, truth, end, spec.daily_from),
        "marketing": lambda r: write_marketing(out, spec, persons, r, truth),
        "surveys": lambda r: write_surveys(out, spec, persons, r, truth),
        "service": lambda r: write_service(out, spec, persons, r, truth),
        "b2b": lambda r: write_b2b(out, spec, persons, r, truth),
    }
    # Polars releases the GIL; the pure-Python parts (GBK encoding, xlsxwriter) then overlap with its work.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(step, name, lambda f=fn, n=name: f(rng(n))) for name, fn in writers.items()]
        for future in futures:
            future.result()

    def write_truth():
        (out / "truth").mkdir()
        persons.select(
            "person_id",
            "person_key",
            "persona",
            "name",
            "phone",
            "email",
            "member_id",
            "wechat_unionid",
            "company_name",
            "nick",
        ).write_parquet(out / "truth/persons.parquet")
        records = truth.records()
        records.write_parquet(out / "truth/records.parquet")
        records.filter(pl.col("defect").is_not_null()).select(
            "source", "file", "row_number", "record_id", "defect"
        ).write_parquet(out / "truth/dirty_rows.parquet")
        (out / "truth/README.md").write_text(TRUTH_README, encoding="utf-8")

    step("truth", write_truth)
    if spec.daily_from is not None:
        step("increments", lambda: move_daily_files(out, spec.daily_from))
    return timings


TRUTH_README = """# Planted truth (never read by the pipeline)

- persons.parquet: one row per synthetic person: the persona (segment) it was drawn from and its true identifiers.
- records.parquet: one row per record any source file holds: source, file, row_number (as `_row_number` in the
  warehouse), record_id, the true person_id, the defect planted in that row (if any), and whether the record is
  a planted duplicate registration.
- dirty_rows.parquet: the rows with a planted defect and the defect's name.
"""
