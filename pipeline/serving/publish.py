"""Publish the bi schema as a serving copy that BI tools read while the next run builds.

    <serving dir>/
        versions/<version>/warehouse.duckdb     the bi tables, documented (COMMENT ON), in a file of its own
        versions/<version>/parquet/<table>.parquet
        versions/<version>/version.json         run, as-of date, tables and rows
        current -> versions/<version>           switched with one rename(2): atomic
        warehouse.duckdb -> current/warehouse.duckdb
        parquet -> current/parquet

A version is written in full under a temporary name, scanned for personal data in clear, renamed into place,
and only then does `current` point at it. A reader resolves the links when it opens a file: it reads the old
complete version or the new one, never a mix, and the run never opens a file a reader holds, so neither blocks
the other. The last `keep` versions stay for `crmgrade publish --rollback`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from pipeline.processes import process_alive
from pipeline.serving.masking import personal_data_in_clear

VERSIONS = "versions"
CURRENT = "current"
BUILDING = ".building-"
OWNER = ".owner"  # in a version being built: the id of the process building it
SCHEMA = "bi"


class PublishError(RuntimeError):
    pass


@dataclass(frozen=True)
class TableToPublish:
    name: str  # the table's name in the serving copy's bi schema
    relation: str  # what it is copied from in the working warehouse, e.g. bi.customers
    description: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # column -> description


@dataclass(frozen=True)
class Published:
    version: str
    path: Path
    rows: dict[str, int]
    removed: list[str]


def new_version_name(as_of_date: date, now: datetime | None = None) -> str:
    """Sorts by publishing time; names the as-of date for people."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S%f}Z_as_of_{as_of_date.isoformat()}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def publish(
    con: duckdb.DuckDBPyConnection,
    serving_dir: Path,
    tables: list[TableToPublish],
    *,
    run_id: str,
    as_of_date: date,
    keep: int,
    allowed_in_clear: set[str] = frozenset(),
    now: datetime | None = None,
) -> Published:
    """Copy `tables` from the working warehouse (`con`) into a new version and make it the current one."""
    now = now or datetime.now(UTC)
    version = new_version_name(as_of_date, now)
    versions = serving_dir / VERSIONS
    building = versions / f"{BUILDING}{version}"
    shutil.rmtree(building, ignore_errors=True)
    (building / "parquet").mkdir(parents=True)
    (building / OWNER).write_text(str(os.getpid()), encoding="utf-8")  # whose build: see remove_orphaned_builds
    try:
        rows = _write_version(con, building, tables, (version, run_id, as_of_date, now), allowed_in_clear)
        info = {
            "version": version,
            "run_id": run_id,
            "as_of_date": as_of_date.isoformat(),
            "published_at": now.isoformat(),
            "tables": rows,
        }
        (building / "version.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        (building / OWNER).unlink()
        building.rename(versions / version)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    with _publishing_lock(serving_dir):
        switch_current(serving_dir, version)
        removed = remove_orphaned_builds(serving_dir) + prune(serving_dir, keep)
    return Published(version, versions / version, rows, removed)


def _write_version(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    tables: list[TableToPublish],
    stamp: tuple[str, str, date, datetime],  # version, run id, as-of date, publishing time
    allowed_in_clear: set[str],
) -> dict[str, int]:
    con.execute(f"attach {_literal(str(folder / 'warehouse.duckdb'))} as serving_copy")
    try:
        con.execute(f"create schema serving_copy.{SCHEMA}")
        rows = {}
        for table in tables:
            target = f'serving_copy.{SCHEMA}."{table.name}"'
            con.execute(f"create table {target} as select * from {table.relation}")
            if table.description:
                con.execute(f"comment on table {target} is {_literal(table.description)}")
            present = {r[0] for r in con.execute(f"describe {target}").fetchall()}
            for column, text in table.columns.items():
                if column in present and text:
                    con.execute(f'comment on column {target}."{column}" is {_literal(text)}')
            rows[table.name] = con.execute(f"select count(*) from {target}").fetchall()[0][0]
        con.execute(
            f"""create table serving_copy.{SCHEMA}.published_version as
            select ? as version, ? as run_id, ?::date as as_of_date, ?::timestamptz as published_at""",
            list(stamp),
        )
        con.execute(
            f"comment on table serving_copy.{SCHEMA}.published_version is "
            "'This published version: its name (a folder under versions/), run, as-of date and time.'"
        )
        leaks = personal_data_in_clear(con, SCHEMA, catalog="serving_copy", allowed=allowed_in_clear)
        if leaks:
            found = "; ".join(f"{t}.{c}: {n} rows look like {p}" for t, c, p, n in leaks)
            raise PublishError(f"not published, personal data in clear: {found}")
        for table in [*tables, TableToPublish("published_version", "")]:
            out = folder / "parquet" / f"{table.name}.parquet"
            con.execute(f'copy serving_copy.{SCHEMA}."{table.name}" to {_literal(str(out))} (format parquet)')
        con.execute("checkpoint serving_copy")
    finally:
        con.execute("detach serving_copy")
    return rows


@contextmanager
def _publishing_lock(serving_dir: Path) -> Iterator[None]:
    """One switch at a time (a run publishing while someone rolls back)."""
    serving_dir.mkdir(parents=True, exist_ok=True)
    with open(serving_dir / ".publish.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _replace_link(link: Path, target: str) -> None:
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, link)  # rename(2): readers see the old link or the new one


def switch_current(serving_dir: Path, version: str) -> None:
    if not (serving_dir / VERSIONS / version / "warehouse.duckdb").exists():
        raise PublishError(f"no published version {version} in {serving_dir / VERSIONS}")
    _replace_link(serving_dir / CURRENT, f"{VERSIONS}/{version}")
    for name in ("warehouse.duckdb", "parquet"):  # fixed links through `current`, made once
        link = serving_dir / name
        if not link.is_symlink():
            if link.exists():
                raise PublishError(f"{link} exists and is not a link to {CURRENT}/{name}: move it away")
            _replace_link(link, f"{CURRENT}/{name}")


def list_versions(serving_dir: Path) -> list[str]:
    """Published versions, oldest first."""
    folder = serving_dir / VERSIONS
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(BUILDING))


def current_version(serving_dir: Path) -> str | None:
    link = serving_dir / CURRENT
    return Path(os.readlink(link)).name if link.is_symlink() else None


def remove_orphaned_builds(serving_dir: Path) -> list[str]:
    """Remove the versions a killed publish left half-built: their building process is gone (or they name none).
    A build still going on in a live process is left alone. Returns the folders removed."""
    folder = serving_dir / VERSIONS
    if not folder.is_dir():
        return []
    removed = []
    for build in sorted(p for p in folder.iterdir() if p.is_dir() and p.name.startswith(BUILDING)):
        owner = build / OWNER
        try:
            pid = int(owner.read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            pid = None
        if pid is None or not process_alive(pid):
            shutil.rmtree(build, ignore_errors=True)
            removed.append(build.name)
    return removed


def prune(serving_dir: Path, keep: int) -> list[str]:
    """Remove all but the newest `keep` versions; never the current one. A reader holding a removed file keeps
    reading it (the data stays on disk until it closes)."""
    current = current_version(serving_dir)
    versions = list_versions(serving_dir)
    removed = [v for v in versions[: max(len(versions) - keep, 0)] if v != current]
    for version in removed:
        shutil.rmtree(serving_dir / VERSIONS / version)
    return removed


def rollback(serving_dir: Path, to: str | None = None) -> str:
    """Make `to` (default: the version published before the current one) current again; returns it."""
    with _publishing_lock(serving_dir):
        versions = list_versions(serving_dir)
        current = current_version(serving_dir)
        if to is None:
            older = [v for v in versions if current is None or v < current]
            if not older:
                raise PublishError(f"no version older than {current} to roll back to in {serving_dir / VERSIONS}")
            to = older[-1]
        elif to not in versions:
            raise PublishError(f"no published version {to}; published: {', '.join(versions) or 'none'}")
        switch_current(serving_dir, to)
        return to


def remove_versions_except_current(serving_dir: Path) -> list[str]:
    """After an erasure: the older versions hold the erased person, so rollback history goes."""
    with _publishing_lock(serving_dir):
        current = current_version(serving_dir)
        removed = [v for v in list_versions(serving_dir) if v != current]
        for version in removed:
            shutil.rmtree(serving_dir / VERSIONS / version)
        return removed
