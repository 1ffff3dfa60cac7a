"""`crmgrade contract draft`: a source contract inferred from a sample export (docs/your-data.md)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from pipeline.cli.common import fail


def cmd_contract_draft(args: argparse.Namespace) -> int:
    """Infer a source contract from a sample export; print it, or write it to --out, and say whether it loads."""
    from pipeline.contracts.model import ContractError, load_contract
    from pipeline.ingest.draft import DraftError, draft_contract, render_draft

    try:
        draft = draft_contract(args.file, entity=args.entity)
    except (DraftError, OSError) as exc:
        return fail(str(exc))
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


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from pipeline.contracts.schema import ENTITIES

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
