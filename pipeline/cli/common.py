"""What every command shares: argument types, the config option, errors, opening the warehouse."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


class CommandFailed(Exception):
    """A command cannot go on; `main` prints the message and exits 1."""


def fail(message: str) -> int:
    print(f"crmgrade: error: {message}", file=sys.stderr)
    return 1


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=None, help="Config file (default: $CRMGRADE_CONFIG or crmgrade.yml)."
    )


def load_config(config: Path | None):
    """The settings of a command, with the environment the dbt profile reads set from them."""
    from pipeline.config import ConfigError, export_environment

    try:
        return export_environment(config)
    except ConfigError as exc:
        raise CommandFailed(str(exc)) from exc


def open_warehouse(config: Path | None, doing: str):
    """(settings, connection) for a command working on the warehouse. Fails naming why: the config is invalid,
    or a run holds the warehouse (DuckDB lets one process write)."""
    import duckdb

    settings = load_config(config)
    try:
        return settings, settings.connect_warehouse()
    except duckdb.IOException as exc:
        raise CommandFailed(f"cannot open {settings.warehouse} (a run holds it? {doing} after it): {exc}") from exc
