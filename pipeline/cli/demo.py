"""`crmgrade demo-data` and `crmgrade simulate`: the demo data set, and the demo run night after night."""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

from pipeline.cli.common import fail, positive_int
from pipeline.demo.shapes import SHAPES


def cmd_demo_data(args: argparse.Namespace) -> int:
    from pipeline.demo.generator import DemoSpec, generate

    if args.shape:
        return _shape(args)
    spec = DemoSpec(customers=args.customers, seed=args.seed, orders=args.orders, end_date=args.end_date)
    print(
        f"Generating demo data: {spec.customers:,} customers, {spec.n_orders:,} orders, seed {spec.seed} -> {args.out}"
    )
    t0 = time.perf_counter()
    generate(args.out, spec)
    print(f"Done in {time.perf_counter() - t0:.1f}s. The planted truth is in {Path(args.out) / 'truth'}.")
    return 0


def _shape(args: argparse.Namespace) -> int:
    """Another company's exports (pipeline/demo/shapes.py) and the figures a right run gives."""
    from pipeline.demo.shapes import TRUTH_FILE, write_shape

    truth = write_shape(args.shape, args.out, seed=args.seed, end=args.end_date)
    print(f"Wrote {len(truth.exports)} {args.shape} export(s) to {args.out}: {', '.join(truth.exports)}.")
    print(
        f"Draft a contract for them (crmgrade contract draft {Path(args.out) / truth.exports[0]}), edit the glob, "
        f"currency and time zone, and run; {Path(args.out) / TRUTH_FILE} holds what every buyer bought."
    )
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from pipeline.runs.simulate import simulate

    result = simulate(args.out, nights=args.nights, customers=args.customers, seed=args.seed, drift_day=args.drift_day)
    print()
    print(f"{len(result.nights)} nights, {len(result.snapshots)} grade snapshots in {result.warehouse}")
    print(f"migrations between consecutive nights: {result.consecutive_pairs} of {len(result.nights) - 1}")
    print(f"drift alerts: {len(result.alerts)}")
    for as_of, kind, _subject, evidence in result.alerts:
        print(f"  {as_of} {kind:<14} {evidence}")
    if result.seconds_per_night:
        n = len(result.seconds_per_night)
        print(
            f"seconds per night: mean {sum(result.seconds_per_night) / n:.0f}, max {max(result.seconds_per_night):.0f}"
        )
    if result.problems:
        return fail("; ".join(result.problems))
    print(f"The planted drift was alerted on {result.planted_alert_on}.")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo-data", help="Write a deterministic demo data set with planted truth.")
    demo.add_argument("--out", type=Path, required=True, help="Folder to write (replaced if it exists).")
    demo.add_argument("--customers", type=positive_int, default=20_000)
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--orders", type=positive_int, default=None, help="Number of orders (default: 6 per customer).")
    demo.add_argument(
        "--end-date",
        type=date.fromisoformat,
        default=date(2026, 6, 30),
        help="Last day of the generated history (YYYY-MM-DD).",
    )
    demo.add_argument(
        "--shape",
        choices=SHAPES,
        default=None,
        help="Instead of the demo retailer, another company's exports: a wholesaler's invoice lines with credit "
        "notes, a Shopify-style shop, an ERP's monthly files with duplicates, a member registry alone.",
    )
    demo.set_defaults(func=cmd_demo_data)

    sim = sub.add_parser("simulate", help="Run the demo night after night, one day's files delivered per night.")
    sim.add_argument("--out", type=Path, required=True, help="Work folder (replaced): sources, warehouse, reports.")
    sim.add_argument("--nights", type=positive_int, default=30)
    sim.add_argument("--customers", type=positive_int, default=1000)
    sim.add_argument("--seed", type=int, default=42)
    sim.add_argument("--drift-day", type=positive_int, default=20, help="Night the planted drift starts on.")
    sim.set_defaults(func=cmd_simulate)
