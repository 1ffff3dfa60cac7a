"""`crmgrade publish` and `crmgrade erase`: the serving copy BI reads, and erasing a person from every layer."""

from __future__ import annotations

import argparse

from pipeline.cli.common import CommandFailed, add_config_option, fail, load_config, open_warehouse


def publish_now(config, settings) -> str:
    """Publish the working warehouse's bi schema as a new serving version; returns the version."""
    from pipeline.defs.dbt.project import dbt_project, prepare_manifest
    from pipeline.serving.catalog import publish_latest
    from pipeline.serving.publish import PublishError

    if not dbt_project.manifest_path.exists():
        prepare_manifest(settings.dbt_vars())
    try:
        _, con = open_warehouse(config, "publish")
    except CommandFailed as exc:
        raise PublishError(str(exc)) from None
    try:
        return publish_latest(con, settings, dbt_project.manifest_path, run_id="crmgrade publish").version
    finally:
        con.close()


def cmd_publish(args: argparse.Namespace) -> int:
    """List the published versions, roll back to one, or publish the working warehouse's bi schema now."""
    from pipeline.serving.publish import PublishError, current_version, list_versions, rollback

    settings = load_config(args.config)
    folder = settings.serving.dir
    try:
        if args.rollback or args.to:
            version = rollback(folder, args.to)
            print(f"{folder / 'current'} -> {version}")
        elif not args.list:
            version = publish_now(args.config, settings)
            print(f"published {version} to {folder}")
    except PublishError as exc:
        return fail(str(exc))
    current = current_version(folder)
    for version in list_versions(folder):
        print(f"{'*' if version == current else ' '} {version}")
    return 0


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
    settings, con = open_warehouse(args.config, "erase")
    try:
        report = erase(
            con,
            request,
            contracts=load_contracts(settings.sources.contracts),
            salt=privacy_salt(settings.privacy.dir),
            privacy_dir=settings.privacy.dir,
            reports_dir=settings.reports_dir,
            outbox_dir=settings.outbox_dir,
        )
    except ErasureError as exc:
        return fail(str(exc))
    finally:
        con.close()
    keys = ", ".join(report.customer_keys) or "-"
    print(f"Erasure {report.erasure_id}: customer(s) {keys}, {report.records} records")
    for table, rows in sorted(report.rows_removed.items()):
        print(f"  {table}: {rows} rows removed")
    print(f"  {len(report.files_scrubbed)} file(s) under {settings.reports_dir} and {settings.outbox_dir} scrubbed")
    print(f"  {report.identifiers_suppressed} identifier(s) added to {settings.privacy.dir / 'suppressions.csv'}")
    if (settings.serving.dir / "current").is_symlink():
        try:
            version = publish_now(args.config, settings)
        except PublishError as exc:
            return fail(f"erased, but the serving copy was not republished: {exc}; run `crmgrade publish`")
        removed = remove_versions_except_current(settings.serving.dir)
        print(f"  serving copy republished as {version}; {len(removed)} older version(s) holding the person removed")
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
