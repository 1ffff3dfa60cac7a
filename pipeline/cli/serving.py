"""`crmgrade publish` and `crmgrade erase`: the serving copy BI reads, and erasing a person from every layer."""

from __future__ import annotations

import argparse

from pipeline.cli.common import add_config_option, fail, load_config


def cmd_publish(args: argparse.Namespace) -> int:
    """List the published versions, roll back to one, or publish the working warehouse's bi schema now."""
    from pipeline.runs.publish import publish_now
    from pipeline.serving.publish import PublishError, current_version, list_versions, rollback

    settings = load_config(args.config)
    folder = settings.serving.dir
    try:
        if args.rollback or args.to:
            version = rollback(folder, args.to)
            print(f"{folder / 'current'} -> {version}")
        elif not args.list:
            version = publish_now(settings)
            print(f"published {version} to {folder}")
    except PublishError as exc:
        return fail(str(exc))
    current = current_version(folder)
    for version in list_versions(folder):
        print(f"{'*' if version == current else ' '} {version}")
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    """Erase a person from the working warehouse and the files the job wrote, suppress them, republish the serving
    copy: under the run lock, journalled, so that an interrupted erasure finishes on the next erase or run."""
    import getpass

    from pipeline.contracts import ContractError
    from pipeline.defs.automation.jobs import active_run_in_dagster_home
    from pipeline.privacy.erasure import ErasureError, ErasureRequest
    from pipeline.run_lock import WarehouseBusy, exclusive_run
    from pipeline.runs.erase import erase_person
    from pipeline.serving.publish import PublishError

    request = ErasureRequest(
        customer_keys=args.customer or [],
        phones=args.phone or [],
        emails=args.email or [],
        requested_by=args.by or getpass.getuser(),
        reason=args.reason,
    )
    settings = load_config(args.config)
    step = lambda text: print(f"  ... {text}", flush=True)  # noqa: E731
    try:
        with exclusive_run(settings.warehouse, "crmgrade erase"):
            if run := active_run_in_dagster_home():
                return fail(f"Dagster run {run} is writing {settings.warehouse}: erase after it ends")
            report = erase_person(settings, request, step, said=print)
    except (ContractError, ErasureError, WarehouseBusy) as exc:
        return fail(str(exc))
    except PublishError as exc:
        return fail(
            f"erased from the warehouse and its files, but the serving copy was not published again: {exc}. The "
            "erasure stays open: the next `crmgrade erase` or `crmgrade run` finishes it"
        )
    keys = ", ".join(report.customer_keys) or "-"
    if report.already_erased_by and not report.rows_removed:
        print(f"Already erased (erasure {', '.join(report.already_erased_by)}): nothing of them was left.")
    print(f"Erasure {report.erasure_id}: customer(s) {keys}, {report.records} records")
    for table, rows in sorted(report.rows_removed.items()):
        print(f"  {table}: {rows} rows removed")
    print(f"  {len(report.files_scrubbed)} file(s) under {settings.reports_dir} and {settings.outbox_dir} scrubbed")
    print(f"  {report.identifiers_suppressed} identifier(s) added to {settings.privacy.dir / 'suppressions.csv'}")
    print(f"  {settings.warehouse} rewritten: the deleted rows' pages are gone from the file")
    if report.republished:
        print(f"  {report.republished}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    pub = sub.add_parser(
        "publish",
        help="The serving copy BI reads: publish the bi schema now, list versions, or roll back (docs/bi.md).",
    )
    add_config_option(pub)
    action = pub.add_mutually_exclusive_group()
    action.add_argument("--rollback", action="store_true", help="Serve the version published before the current one.")
    action.add_argument("--to", default=None, metavar="VERSION", help="Serve this published version.")
    action.add_argument("--list", action="store_true", help="Only list the published versions (* = current).")
    pub.set_defaults(func=cmd_publish)

    era = sub.add_parser(
        "erase",
        help="Erase a person from every layer, keep them out of later ingests, republish (docs/privacy.md).",
    )
    add_config_option(era)
    era.add_argument("--customer", action="append", metavar="KEY", help="A customer key (repeatable).")
    era.add_argument("--phone", action="append", help="A phone number, as written anywhere (repeatable).")
    era.add_argument("--email", action="append", help="An e-mail address (repeatable).")
    era.add_argument("--by", default=None, help="Who asked, for the audit log (default: this user).")
    era.add_argument("--reason", default=None, help="Why, for the audit log (e.g. the request's ticket number).")
    era.set_defaults(func=cmd_erase)
