"""`crmgrade`: the command line. Each module parses and prints one family of commands; the work is done by the
packages it calls (the whole job: pipeline/runs/job.py)."""

from __future__ import annotations

import argparse

from pipeline.cli import contract, demo, identity, regrade, run, serving, source
from pipeline.cli.common import CommandFailed, fail

# In the order `crmgrade --help` lists them
COMMANDS = (demo, contract, run, source, serving, identity, regrade)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crmgrade", description="Customer-grading warehouse.")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.add_parsers(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CommandFailed as exc:
        return fail(str(exc))
