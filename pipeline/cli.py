"""`crmgrade`: generate demo data, run the whole job in-process."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from datetime import date
from pathlib import Path


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _fail(message: str) -> int:
    print(f"crmgrade: error: {message}", file=sys.stderr)
    return 1


def cmd_demo_data(args: argparse.Namespace) -> int:
    from pipeline.demo.generator import DemoSpec, generate

    spec = DemoSpec(customers=args.customers, seed=args.seed, orders=args.orders, end_date=args.end_date)
    print(
        f"Generating demo data: {spec.customers:,} customers, {spec.n_orders:,} orders, seed {spec.seed} -> {args.out}"
    )
    t0 = time.perf_counter()
    generate(args.out, spec)
    print(f"Done in {time.perf_counter() - t0:.1f}s. The planted truth is in {Path(args.out) / 'truth'}.")
    return 0


def run_job(config_file: Path | str | None, as_of: date | None = None) -> int:
    """Materialize every asset for a config, in this process. Returns the exit code."""
    from pipeline.config import AS_OF_ENV, ConfigError, export_environment
    from pipeline.contracts import ContractError, load_contracts
    from pipeline.grading.rules import RulesError, load_rules
    from pipeline.grading.spec import GradingError, load_grading_spec

    if as_of is not None:
        os.environ[AS_OF_ENV] = as_of.isoformat()
    try:
        settings = export_environment(config_file)
        if settings.generates_demo_data():
            from pipeline.demo.generator import DemoSpec, generate

            print(
                f"No source data in {settings.sources.root}: generating the demo set "
                f"({settings.demo.customers:,} customers, seed {settings.demo.seed})."
            )
            generate(
                settings.sources.root,
                DemoSpec(customers=settings.demo.customers, seed=settings.demo.seed, orders=settings.demo.orders),
            )
        load_contracts(settings.sources.contracts)  # fail before any work on a broken contract or spec
        load_grading_spec(settings.grading)
        load_rules(settings.rules)  # the conditions are type-checked against the fact table when it exists
    except (ConfigError, ContractError, GradingError, RulesError) as exc:
        return _fail(str(exc))

    from dagster_dbt.errors import DagsterDbtCliRuntimeError

    from pipeline.defs.dbt.project import prepare_manifest

    t0 = time.perf_counter()
    print("Parsing the dbt project ...")
    try:
        prepare_manifest(settings.dbt_vars())
    except DagsterDbtCliRuntimeError as exc:
        return _fail(f"the dbt project does not parse: {exc}")
    import dagster as dg

    from pipeline.defs.automation.jobs import JOB_NAME
    from pipeline.defs.build import build_definitions
    from pipeline.defs.partitions import as_of_partitions, partition_key
    from pipeline.defs.step_timings import dbt_node_timings, stage_seconds, step_timings, write_timings
    from pipeline.summary import stopped_files, write_summary

    as_of_date = settings.resolved_as_of_date()
    partitions = as_of_partitions(settings)
    if not partitions.has_partition_key(partition_key(as_of_date)):
        first, last = partitions.get_first_partition_key(), partitions.get_last_partition_key()
        return _fail(
            f"as-of date {as_of_date} is not one of the job's daily partitions ({first} to {last}); "
            "operations.partitions_start in crmgrade.yml sets the first"
        )
    print(f"Running every asset into {settings.warehouse}, as of {as_of_date} ...")
    instance = dg.DagsterInstance.get() if _has_dagster_home() else dg.DagsterInstance.ephemeral()
    defs = build_definitions(settings)  # the settings read above; the run reads the file once more, at its start
    result = defs.get_job_def(JOB_NAME).execute_in_process(
        instance=instance, partition_key=partition_key(as_of_date), raise_on_error=False
    )
    timings = step_timings(instance, result.run_id)
    timings_file = write_timings(
        settings.reports_dir / "run_timings.json",
        result.run_id,
        time.perf_counter() - t0,
        timings,
        dbt_node_timings(instance, result.run_id),
    )
    if not result.success:
        failed = [e for e in result.all_events if e.is_step_failure]
        for event in failed:
            err = event.step_failure_data.error
            print(f"  step {event.step_key} failed: {err.message.strip() if err else ''}", file=sys.stderr)
        for source, file, status, message in stopped_files(settings.warehouse, result.run_id):
            print(f"  {source} {file}: {status}: {message}", file=sys.stderr)
        where = (
            "; see dq.reconciliation and dq.quarantine" if any(e.step_key.startswith("raw__") for e in failed) else ""
        )
        return _fail(f"run {result.run_id} failed in {len(failed)} step(s){where}")
    text, path = write_summary(settings.warehouse, settings.reports_dir)
    print()
    print(text)
    stages = ", ".join(f"{stage} {seconds:.0f} s" for stage, seconds in stage_seconds(timings).items())
    print(f"Time per stage: {stages} (every step: {timings_file}).")
    print(f"Run {result.run_id} succeeded in {time.perf_counter() - t0:.1f}s; summary written to {path}.")
    return 0


def backfill(config_file: Path | str | None, first: date, last: date) -> int:
    """One run per as-of date from `first` to `last`, in date order; stops at the first failed run."""
    from datetime import timedelta

    if last < first:
        return _fail(f"--to {last} is before --from {first}")
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    for i, day in enumerate(days, 1):
        print(f"[{i}/{len(days)}] as of {day}")
        code = run_job(config_file, as_of=day)
        if code != 0:
            return _fail(f"the run as of {day} failed; {len(days) - i} later date(s) not run")
    print(f"Backfilled {len(days)} date(s), {first} to {last}.")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    """List the published versions, roll back to one, or publish the working warehouse's bi schema now."""
    from pipeline.config import ConfigError, export_environment
    from pipeline.serving.publish import PublishError, current_version, list_versions, rollback

    try:
        settings = export_environment(args.config)
    except ConfigError as exc:
        return _fail(str(exc))
    folder = settings.serving.dir
    try:
        if args.rollback or args.to:
            version = rollback(folder, args.to)
            print(f"{folder / 'current'} -> {version}")
        elif not args.list:
            version = _publish_now(settings)
            print(f"published {version} to {folder}")
    except PublishError as exc:
        return _fail(str(exc))
    current = current_version(folder)
    for version in list_versions(folder):
        print(f"{'*' if version == current else ' '} {version}")
    return 0


def _publish_now(settings) -> str:
    """Publish outside a run (after an erasure, or to retry a failed publish): what the bi views show now."""
    import duckdb

    from pipeline.defs.dbt.project import dbt_project, prepare_manifest
    from pipeline.serving.catalog import publish_bi
    from pipeline.serving.publish import PublishError

    if not dbt_project.manifest_path.exists():
        prepare_manifest(settings.dbt_vars())
    try:
        con = duckdb.connect(str(settings.warehouse), config=settings.duckdb.connection_config(settings.warehouse))
    except duckdb.IOException as exc:
        raise PublishError(f"cannot open {settings.warehouse} (a run holds it?): {exc}") from None
    try:
        as_of = con.sql("select max(as_of_date) from bi.customer_grades").fetchall()[0][0]
        if as_of is None:
            raise PublishError(f"{settings.warehouse} has no grades to publish: run the job first")
        result = publish_bi(con, settings, dbt_project.manifest_path, run_id="crmgrade publish", as_of_date=as_of)
    finally:
        con.close()
    return result.version


class _CommandFailed(Exception):
    """A command cannot go on; `main` prints the message and exits 1."""


def _open_warehouse(config: Path | None, doing: str):
    """(settings, connection) for a command working on the warehouse. Fails naming why: the config is invalid,
    or a run holds the warehouse (DuckDB lets one process write)."""
    import duckdb

    from pipeline.config import ConfigError, export_environment

    try:
        settings = export_environment(config)
    except ConfigError as exc:
        raise _CommandFailed(str(exc)) from exc
    try:
        return settings, duckdb.connect(
            str(settings.warehouse), config=settings.duckdb.connection_config(settings.warehouse)
        )
    except duckdb.IOException as exc:
        raise _CommandFailed(f"cannot open {settings.warehouse} (a run holds it? {doing} after it): {exc}") from exc


def cmd_erase(args: argparse.Namespace) -> int:
    """Erase a person from the working warehouse and the reports, suppress them, republish the serving copy."""
    import getpass

    from pipeline.contracts import load_contracts
    from pipeline.privacy.erasure import ErasureError, ErasureRequest, erase
    from pipeline.privacy.salt import privacy_salt
    from pipeline.serving.publish import PublishError, remove_versions_except_current

    request = ErasureRequest(
        customer_keys=args.customer or [],
        phones=args.phone or [],
        emails=args.email or [],
        requested_by=args.by or getpass.getuser(),
        reason=args.reason,
    )
    settings, con = _open_warehouse(args.config, "erase")
    try:
        report = erase(
            con,
            request,
            contracts=load_contracts(settings.sources.contracts),
            salt=privacy_salt(settings.privacy.dir),
            privacy_dir=settings.privacy.dir,
            reports_dir=settings.reports_dir,
        )
    except ErasureError as exc:
        return _fail(str(exc))
    finally:
        con.close()
    keys = ", ".join(report.customer_keys) or "-"
    print(f"Erasure {report.erasure_id}: customer(s) {keys}, {report.records} records")
    for table, rows in sorted(report.rows_removed.items()):
        print(f"  {table}: {rows} rows removed")
    print(f"  {len(report.files_scrubbed)} file(s) under {settings.reports_dir} scrubbed")
    print(f"  {report.identifiers_suppressed} identifier(s) added to {settings.privacy.dir / 'suppressions.csv'}")
    if (settings.serving.dir / "current").is_symlink():
        try:
            version = _publish_now(settings)
        except PublishError as exc:
            return _fail(f"erased, but the serving copy was not republished: {exc}; run `crmgrade publish`")
        removed = remove_versions_except_current(settings.serving.dir)
        print(f"  serving copy republished as {version}; {len(removed)} older version(s) holding the person removed")
    return 0


def cmd_identity_unmerge(args: argparse.Namespace) -> int:
    """Undo the merge that retired a key; the next run splits the customer and gives the key back."""
    from datetime import datetime

    from pipeline.identity.never_link import NeverLinkError, request_unmerge

    _, con = _open_warehouse(args.config, "unmerge")
    try:
        unmerge = request_unmerge(con, args.key, args.reason, datetime.now())
    except NeverLinkError as exc:
        return _fail(str(exc))
    finally:
        con.close()
    print(
        f"{unmerge.key} (merged into {unmerge.successor} by run {unmerge.merged_by_run}) will be split off again by "
        f"the next run: its {unmerge.records} record(s) never again join the {unmerge.successor_records} record(s) "
        f"{unmerge.successor} held then. Both customers are graded again on that run."
    )
    return 0


def cmd_identity_merges(args: argparse.Namespace) -> int:
    """List the merge ledger (identity.merges), newest first."""
    from pipeline.identity.never_link import ensure_tables

    _, con = _open_warehouse(args.config, "list merges")
    try:
        ensure_tables(con)
        where = "where ? in (customer_key, other_key)" if args.customer else ""
        rows = con.execute(
            f"""select recorded_at, run_id, event, customer_key, other_key, records, coalesce(reason, '')
            from identity.merges {where} order by run_seq desc, event, customer_key limit ?""",
            [*([args.customer] if args.customer else []), args.limit],
        ).fetchall()
    finally:
        con.close()
    if not rows:
        print("No merges recorded.")
    for at, run_id, event, key, other, records, reason in rows:
        verb = "merged into" if event == "merge" else "split from"
        print(f"{at:%Y-%m-%d %H:%M}  {run_id}  {key} {verb} {other} ({records} records) {reason}".rstrip())
    return 0


def cmd_regrade(args: argparse.Namespace) -> int:
    """Grade past days again under a recorded spec version, from their inputs as they stood; compare with the
    grades stored for them (docs/grading.md)."""
    from dagster_dbt.errors import DagsterDbtCliRuntimeError

    from pipeline.defs.dbt.project import DBT_PROJECT_DIR, build_variant, dbt_project, dbt_resource
    from pipeline.grading import regrade
    from pipeline.grading.spec import GradingError
    from pipeline.grading.variant import dbt_build_args, write_variant_spec

    settings, con = _open_warehouse(args.config, "regrade")
    try:
        days = args.as_of or [d for (d,) in con.execute(regrade.REGRADABLE_DAYS).fetchall()]
    finally:
        con.close()
    if not days:
        return _fail("no graded day has its inputs kept: run the job first")
    for i, as_of_date in enumerate(days, 1):
        _, con = _open_warehouse(args.config, "regrade")
        try:
            day = regrade.plan_day(con, as_of_date, args.spec)
            write_variant_spec(con, regrade.VARIANT, day.spec, f"grading_spec.versions {day.spec.version}")
        except (regrade.RegradeError, GradingError) as exc:
            return _fail(str(exc))
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
            return _fail(f"grading {as_of_date} again failed in dbt: {exc}")
        _, con = _open_warehouse(args.config, "regrade")
        try:
            result = regrade.record_regrade(con, day)
        finally:
            con.close()
        print("  " + regrade.describe(result))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from pipeline.demo.simulate import simulate

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
        return _fail("; ".join(result.problems))
    print(f"The planted drift was alerted on {result.planted_alert_on}.")
    return 0


def _has_dagster_home() -> bool:
    """Use the persistent instance (runs visible in `dagster dev`) when DAGSTER_HOME is set."""
    import os

    home = os.environ.get("DAGSTER_HOME")
    if home:
        Path(home).mkdir(parents=True, exist_ok=True)
    return bool(home)


def cmd_contract_draft(args: argparse.Namespace) -> int:
    """Infer a source contract from a sample export; print it, or write it to --out, and say whether it loads."""
    from pipeline.contracts.draft import DraftError, draft_contract, render_draft
    from pipeline.contracts.model import ContractError, load_contract

    try:
        draft = draft_contract(args.file, entity=args.entity)
    except (DraftError, OSError) as exc:
        return _fail(str(exc))
    source = args.source or re.sub(r"[^a-z0-9_]", "_", args.file.stem.lower()).strip("_") or "source"
    if not source[0].isalpha():
        source = f"s_{source}"
    text = render_draft(draft, source)
    if args.out is None:
        print(text, end="")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    try:
        load_contract(args.out)
    except ContractError as exc:
        print(f"Wrote {args.out}; it does not load yet: {exc}", file=sys.stderr)
        return 1
    print(
        f"Wrote {args.out} ({draft.entity}, {sum(1 for c in draft.columns if c.target)} columns mapped); check it, "
        "then `crmgrade run` (docs/your-data.md)."
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    from pipeline.contracts.schema import ENTITIES

    parser = argparse.ArgumentParser(prog="crmgrade", description="Customer-grading warehouse.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo-data", help="Write a deterministic demo data set with planted truth.")
    demo.add_argument("--out", type=Path, required=True, help="Folder to write (replaced if it exists).")
    demo.add_argument("--customers", type=_positive_int, default=20_000)
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--orders", type=_positive_int, default=None, help="Number of orders (default: 6 per customer).")
    demo.add_argument(
        "--end-date",
        type=date.fromisoformat,
        default=date(2026, 6, 30),
        help="Last day of the generated history (YYYY-MM-DD).",
    )
    demo.set_defaults(func=cmd_demo_data)

    contract = sub.add_parser("contract", help="Source contracts: draft one from a sample export (docs/your-data.md).")
    contract_sub = contract.add_subparsers(dest="contract_command", required=True)
    draft = contract_sub.add_parser(
        "draft", help="Infer encoding, delimiter, header row, columns, formats and a mapping from a sample file."
    )
    draft.add_argument("file", type=Path, help="A sample export (CSV, .xlsx, JSON lines or Parquet).")
    draft.add_argument("--entity", choices=sorted(ENTITIES), default=None, help="Entity (default: inferred).")
    draft.add_argument("--source", default=None, help="Source name (default: from the file name).")
    draft.add_argument("--out", type=Path, default=None, help="Write the draft here (default: print it).")
    draft.set_defaults(func=cmd_contract_draft)

    run = sub.add_parser("run", help="Materialize every asset for a config, in-process.")
    run.add_argument(
        "--config", type=Path, default=None, help="Config file (default: $CRMGRADE_CONFIG or crmgrade.yml)."
    )
    run.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="As-of date YYYY-MM-DD (default: crmgrade.yml)."
    )
    run.set_defaults(func=lambda a: run_job(a.config, a.as_of))

    fill = sub.add_parser("backfill", help="Run every asset as of each date of a range, oldest first.")
    fill.add_argument(
        "--config", type=Path, default=None, help="Config file (default: $CRMGRADE_CONFIG or crmgrade.yml)."
    )
    fill.add_argument("--from", dest="first", type=date.fromisoformat, required=True, help="First as-of date.")
    fill.add_argument("--to", dest="last", type=date.fromisoformat, required=True, help="Last as-of date.")
    fill.set_defaults(func=lambda a: backfill(a.config, a.first, a.last))

    pub = sub.add_parser(
        "publish",
        help="The serving copy BI reads: publish the bi schema now, list versions, or roll back (docs/bi.md).",
    )
    pub.add_argument(
        "--config", type=Path, default=None, help="Config file (default: $CRMGRADE_CONFIG or crmgrade.yml)."
    )
    action = pub.add_mutually_exclusive_group()
    action.add_argument("--rollback", action="store_true", help="Serve the version published before the current one.")
    action.add_argument("--to", default=None, metavar="VERSION", help="Serve this published version.")
    action.add_argument("--list", action="store_true", help="Only list the published versions (* = current).")
    pub.set_defaults(func=cmd_publish)

    era = sub.add_parser(
        "erase",
        help="Erase a person from every layer, keep them out of later ingests, republish (docs/privacy.md).",
    )
    era.add_argument(
        "--config", type=Path, default=None, help="Config file (default: $CRMGRADE_CONFIG or crmgrade.yml)."
    )
    era.add_argument("--customer", action="append", metavar="KEY", help="A customer key (repeatable).")
    era.add_argument("--phone", action="append", help="A phone number, as written anywhere (repeatable).")
    era.add_argument("--email", action="append", help="An e-mail address (repeatable).")
    era.add_argument("--by", default=None, help="Who asked, for the audit log (default: this user).")
    era.add_argument("--reason", default=None, help="Why, for the audit log (e.g. the request's ticket number).")
    era.set_defaults(func=cmd_erase)

    ident = sub.add_parser("identity", help="Undo a wrong merge; list the merge ledger (docs/identity.md).")
    ident_sub = ident.add_subparsers(dest="identity_command", required=True)
    unmerge = ident_sub.add_parser(
        "unmerge", help="Split a retired key off the customer it merged into; the next run gives it back."
    )
    unmerge.add_argument("key", help="The customer key a merge retired (see `crmgrade identity merges`).")
    unmerge.add_argument("--reason", required=True, help="Why, kept in identity.never_link_pairs and the ledger.")
    unmerge.set_defaults(func=cmd_identity_unmerge)
    merges = ident_sub.add_parser("merges", help="The merge ledger, newest first.")
    merges.add_argument("--customer", default=None, metavar="KEY", help="Only merges involving this key.")
    merges.add_argument("--limit", type=_positive_int, default=50)
    merges.set_defaults(func=cmd_identity_merges)
    for command in (unmerge, merges):
        command.add_argument(
            "--config", type=Path, default=None, help="Config file (default: $CRMGRADE_CONFIG or crmgrade.yml)."
        )

    regr = sub.add_parser(
        "regrade",
        help="Grade past days again under a recorded spec version, from their data as it stood (docs/grading.md).",
    )
    regr.add_argument(
        "--config", type=Path, default=None, help="Config file (default: $CRMGRADE_CONFIG or crmgrade.yml)."
    )
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

    sim = sub.add_parser("simulate", help="Run the demo night after night, one day's files delivered per night.")
    sim.add_argument("--out", type=Path, required=True, help="Work folder (replaced): sources, warehouse, reports.")
    sim.add_argument("--nights", type=_positive_int, default=30)
    sim.add_argument("--customers", type=_positive_int, default=1000)
    sim.add_argument("--seed", type=int, default=42)
    sim.add_argument("--drift-day", type=_positive_int, default=20, help="Night the planted drift starts on.")
    sim.set_defaults(func=cmd_simulate)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except _CommandFailed as exc:
        return _fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
