"""What a run reads, as one digest, so a `crmgrade run` with nothing new to read can say so instead of rebuilding.

A run is a function of its inputs: the source files, the configuration (crmgrade.yml and every file it names), the
code (pipeline/, dbt_project/, expectations/, the lock file), the suppression list, the CRMGRADE_* environment and
the as-of date. When all of them are what the last successful run read, and no unmerge waits to be applied, a new
run would write the same tables: the runner skips it (`crmgrade run --force` runs anyway).

Source files are compared by path, size and modification time, not content: reading every byte of a large
export is the cost this is here to save. A file rewritten in place with the same size and time is not seen
(ingest itself compares contents: `--force` reaches it).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path

import duckdb

from pipeline.config import Settings
from pipeline.identity.never_link import pending_pairs
from pipeline.paths import REPO_ROOT
from pipeline.privacy.suppression import FILE as SUPPRESSIONS_FILE

SCHEMA = "operations"
TABLE = f"{SCHEMA}.run_inputs"
DDL = f"""create table if not exists {TABLE} (
    run_id varchar not null,
    as_of_date date not null,
    digest varchar not null,
    recorded_at timestamp not null
)"""
CODE = ("pipeline", "dbt_project", "expectations", "pyproject.toml", "uv.lock")
# Written by dbt, Python caches and editors: not code a run executes.
NOT_CODE = {"target", "logs", "dbt_packages", "__pycache__", ".user.yml"}


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in NOT_CODE and not d.startswith("."))
        found += [Path(folder) / n for n in sorted(names) if n not in NOT_CODE and not n.endswith(".pyc")]
    return found


def _stat_lines(root: Path) -> list[str]:
    lines = []
    for file in _files(root):
        stat = file.stat()
        lines.append(f"{file.relative_to(root) if root.is_dir() else file.name}\t{stat.st_size}\t{stat.st_mtime_ns}")
    return lines


def _content_digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for root in paths:
        for file in _files(root):
            digest.update(str(file.relative_to(REPO_ROOT) if file.is_relative_to(REPO_ROOT) else file).encode())
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def inputs_digest(settings: Settings) -> str:
    """One digest of everything a run reads (the module docstring lists it)."""
    named = [settings.sources.contracts, settings.grading, settings.rules]
    if settings.shadow_grading is not None:
        named.append(settings.shadow_grading)
    parts = {
        "as_of_date": settings.resolved_as_of_date().isoformat(),
        "settings": settings.model_dump(mode="json"),
        "configuration": _content_digest(named),
        "code": _content_digest([REPO_ROOT / part for part in CODE]),
        "sources": _stat_lines(settings.sources.root),
        # the suppression list, not the whole folder: the first run writes the salt there (a changed salt
        # reaches a run through $CRMGRADE_PRIVACY_SALT or --force)
        "suppressions": _stat_lines(settings.privacy.dir / SUPPRESSIONS_FILE),
        "environment": sorted((k, v) for k, v in os.environ.items() if k.startswith("CRMGRADE_")),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def unchanged_since(settings: Settings, digest: str) -> str | None:
    """The id of the last successful run when it read exactly these inputs and left nothing pending; else None."""
    if not settings.warehouse.exists() or not (settings.serving.dir / "warehouse.duckdb").exists():
        return None
    try:
        con = settings.connect_warehouse(read_only=True)
    except duckdb.Error:
        return None  # another process writes it: the run goes on and meets the lock with its own message
    try:
        [(found,)] = con.execute(
            "select count(*) from duckdb_tables() where schema_name = ? and table_name = 'run_inputs'", [SCHEMA]
        ).fetchall()
        if not found or pending_pairs(con):
            return None
        last = con.execute(f"select run_id, digest from {TABLE} order by recorded_at desc limit 1").fetchall()
    finally:
        con.close()
    return last[0][0] if last and last[0][1] == digest else None


def record_inputs(settings: Settings, run_id: str, digest: str) -> None:
    """After a successful run: what it read, for the next run to compare with."""
    con = settings.connect_warehouse()
    try:
        con.execute(f"create schema if not exists {SCHEMA}")
        con.execute(DDL)
        con.execute(
            f"insert into {TABLE} values (?, ?, ?, ?)",
            [run_id, settings.resolved_as_of_date(), digest, datetime.now()],
        )
    finally:
        con.close()
