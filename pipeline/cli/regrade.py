"""`crmgrade regrade`: grade past days again under a recorded spec version, from their data as it stood."""

from __future__ import annotations

import argparse
from datetime import date

from pipeline.cli.common import add_config_option, fail, load_config


def cmd_regrade(args: argparse.Namespace) -> int:
    """Grade past days again under a recorded spec version, from their inputs as they stood; compare with the
    grades stored for them (docs/grading.md)."""
    import duckdb
    from dagster_dbt.errors import DagsterDbtCliRuntimeError

    from pipeline.grading import regrade
    from pipeline.grading.spec import GradingError
    from pipeline.runs.regrade import regradable_days, regrade_days

    settings = load_config(args.config)
    try:
        days = args.as_of or regradable_days(settings)
        if not days:
            return fail("no graded day has its inputs kept: run the job first")
        for result in regrade_days(settings, days, args.spec, print):
            print("  " + regrade.describe(result))
    except (regrade.RegradeError, GradingError) as exc:
        return fail(str(exc))
    except duckdb.IOException as exc:
        return fail(f"cannot open {settings.warehouse} (a run holds it? regrade after it): {exc}")
    except DagsterDbtCliRuntimeError as exc:
        return fail(f"grading again failed in dbt: {exc}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    regr = sub.add_parser(
        "regrade",
        help="Grade past days again under a recorded spec version, from their data as it stood (docs/grading.md).",
    )
    add_config_option(regr)
    regr.add_argument(
        "--as-of",
        action="append",
        type=date.fromisoformat,
        help="A graded day YYYY-MM-DD (repeatable; default: every graded day whose inputs were kept).",
    )
    regr.add_argument(
        "--spec",
        default=None,
        metavar="VERSION",
        help="A version of grading_spec.versions (default: the one each day was graded under).",
    )
    regr.set_defaults(func=cmd_regrade)
