"""`crmgrade regrade`: grade past days again under a recorded spec version, from their data as it stood."""

from __future__ import annotations

import argparse
from datetime import date

from pipeline.cli.common import add_config_option, fail, open_warehouse


def cmd_regrade(args: argparse.Namespace) -> int:
    """Grade past days again under a recorded spec version, from their inputs as they stood; compare with the
    grades stored for them (docs/grading.md)."""
    from dagster_dbt.errors import DagsterDbtCliRuntimeError

    from pipeline.defs.dbt.project import DBT_PROJECT_DIR, build_variant, dbt_project, dbt_resource
    from pipeline.grading import regrade
    from pipeline.grading.spec import GradingError
    from pipeline.grading.variant import dbt_build_args, write_variant_spec

    settings, con = open_warehouse(args.config, "regrade")
    try:
        days = args.as_of or [d for (d,) in con.execute(regrade.REGRADABLE_DAYS).fetchall()]
    finally:
        con.close()
    if not days:
        return fail("no graded day has its inputs kept: run the job first")
    for i, as_of_date in enumerate(days, 1):
        _, con = open_warehouse(args.config, "regrade")
        try:
            day = regrade.plan_day(con, as_of_date, args.spec)
            write_variant_spec(con, regrade.VARIANT, day.spec, f"grading_spec.versions {day.spec.version}")
        except (regrade.RegradeError, GradingError) as exc:
            return fail(str(exc))
        finally:
            con.close()
        print(
            f"[{i}/{len(days)}] {as_of_date} under spec {day.spec.version}, from its inputs as they stood at "
            f"{day.inputs_as_of:%Y-%m-%d %H:%M:%S} ..."
        )
        try:
            dbt_args = ["--quiet", *dbt_build_args(regrade.VARIANT, regrade.dbt_vars(day, settings.dbt_vars()))]
            # one target folder for every regrade, not a new one per call (dagster-dbt's default)
            target = DBT_PROJECT_DIR / dbt_project.target_path / "regrade"
            build_variant(dbt_resource(), dbt_args, target_path=target)
        except DagsterDbtCliRuntimeError as exc:
            return fail(f"grading {as_of_date} again failed in dbt: {exc}")
        _, con = open_warehouse(args.config, "regrade")
        try:
            result = regrade.record_regrade(con, day)
        finally:
            con.close()
        print("  " + regrade.describe(result))
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
