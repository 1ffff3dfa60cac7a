"""`crmgrade run` and `crmgrade backfill`: the whole job in this process (pipeline/runs/job.py), said."""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from pathlib import Path

from pipeline.cli.common import add_config_option, fail


def run_and_report(config_file: Path | str | None, as_of: date | None = None, force: bool = False) -> int:
    """One run, its progress and outcome printed. Returns the exit code."""
    from pipeline.runs.job import run_job

    outcome = run_job(config_file, as_of, progress=print, force=force)
    if outcome.skipped:
        print(
            f"Nothing changed since run {outcome.run_id}: the same source files, configuration, code and as-of "
            "date. The warehouse, the reports and the serving copy are as that run left them (--force runs anyway)."
        )
        if outcome.summary_file:
            print(f"Its summary: {outcome.summary_file}.")
        return 0
    if not outcome.succeeded:
        for message in outcome.gate_messages:  # first: the likeliest cause of everything after it
            print(f"  STOPPED: {message}", file=sys.stderr)
        for step, message in outcome.failed_steps:
            print(f"  step {step} failed: {message}", file=sys.stderr)
        for source, file, status, message in outcome.stopped_files:
            print(f"  {source} {file}: {status}: {message}", file=sys.stderr)
        return fail(outcome.error or "the run failed")
    print()
    print(outcome.summary)
    stages = ", ".join(f"{stage} {seconds:.0f} s" for stage, seconds in outcome.stage_seconds.items())
    print(f"Time per stage: {stages} (every step: {outcome.timings_file}).")
    print(f"Run {outcome.run_id} succeeded in {outcome.seconds:.1f}s; summary written to {outcome.summary_file}.")
    return 0


def backfill(config_file: Path | str | None, first: date, last: date) -> int:
    """One run per as-of date from `first` to `last`, in date order; stops at the first failed run."""
    if last < first:
        return fail(f"--to {last} is before --from {first}")
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    for i, day in enumerate(days, 1):
        print(f"[{i}/{len(days)}] as of {day}")
        if run_and_report(config_file, as_of=day) != 0:
            return fail(f"the run as of {day} failed; {len(days) - i} later date(s) not run")
    print(f"Backfilled {len(days)} date(s), {first} to {last}.")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="Materialize every asset for a config, in-process.")
    add_config_option(run)
    run.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="As-of date YYYY-MM-DD (default: crmgrade.yml)."
    )
    run.add_argument(
        "--force", action="store_true", help="Run even when nothing changed since the last successful run."
    )
    run.set_defaults(func=lambda a: run_and_report(a.config, a.as_of, a.force))

    fill = sub.add_parser("backfill", help="Run every asset as of each date of a range, oldest first.")
    add_config_option(fill)
    fill.add_argument("--from", dest="first", type=date.fromisoformat, required=True, help="First as-of date.")
    fill.add_argument("--to", dest="last", type=date.fromisoformat, required=True, help="Last as-of date.")
    fill.set_defaults(func=lambda a: backfill(a.config, a.first, a.last))
