"""`crmgrade source withdraw FILE`: take a loaded file's rows out of the warehouse (pipeline/ingest/withdraw.py)."""

from __future__ import annotations

import argparse

from pipeline.cli.common import add_config_option, fail, open_warehouse


def cmd_source_withdraw(args: argparse.Namespace) -> int:
    from pipeline.cli.common import load_config
    from pipeline.contracts import ContractError, load_contracts
    from pipeline.ingest.withdraw import WithdrawError, withdraw
    from pipeline.run_lock import WarehouseBusy, exclusive_run

    settings = load_config(args.config)
    try:
        contracts = load_contracts(settings.sources.contracts)
        with exclusive_run(settings.warehouse, "crmgrade source withdraw"):
            _, con = open_warehouse(args.config, "withdraw")
            try:
                done = withdraw(con, contracts, settings.sources.root, args.file, args.source)
            finally:
                con.close()
    except (ContractError, WarehouseBusy, WithdrawError) as exc:
        return fail(str(exc))
    print(
        f"Withdrew {done.file} ({done.source}, {done.entity}): {done.rows_removed:,} rows out of raw.{done.entity}, "
        f"{done.quarantined_removed:,} quarantined rows out of dq.quarantine (recorded in dq.withdrawals). The next "
        "run grades its customers again without them."
    )
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    source = sub.add_parser("source", help="Take a withdrawn source file's rows out of the warehouse.")
    source_sub = source.add_subparsers(dest="source_command", required=True)
    withdraw = source_sub.add_parser(
        "withdraw", help="Remove a loaded file's rows (the file must be gone from the source folder)."
    )
    withdraw.add_argument("file", help="The file, relative to sources.root as the run names it (or absolute).")
    withdraw.add_argument("--source", default=None, help="The source, when several load a file of that name.")
    add_config_option(withdraw)
    withdraw.set_defaults(func=cmd_source_withdraw)
