"""`crmgrade identity unmerge|merges`: undo a wrong merge; read the merge ledger (docs/identity.md)."""

from __future__ import annotations

import argparse

from pipeline.cli.common import add_config_option, fail, open_warehouse, positive_int


def cmd_identity_unmerge(args: argparse.Namespace) -> int:
    """Undo the merge that retired a key; the next run splits the customer and gives the key back."""
    from datetime import datetime

    from pipeline.identity.never_link import NeverLinkError, request_unmerge

    _, con = open_warehouse(args.config, "unmerge")
    try:
        unmerge = request_unmerge(con, args.key, args.reason, datetime.now())
    except NeverLinkError as exc:
        return fail(str(exc))
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
    from pipeline.identity.never_link import list_merges

    _, con = open_warehouse(args.config, "list merges")
    try:
        rows = list_merges(con, args.customer, args.limit)
    finally:
        con.close()
    if not rows:
        print("No merges recorded.")
    for at, run_id, event, key, other, records, reason in rows:
        verb = "merged into" if event == "merge" else "split from"
        print(f"{at:%Y-%m-%d %H:%M}  {run_id}  {key} {verb} {other} ({records} records) {reason}".rstrip())
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
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
    merges.add_argument("--limit", type=positive_int, default=50)
    merges.set_defaults(func=cmd_identity_merges)
    for command in (unmerge, merges):
        add_config_option(command)
