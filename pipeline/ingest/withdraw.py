"""Files that left the source folder, and `crmgrade source withdraw FILE`, which takes a loaded file's rows out.

A file deleted from the folder is not a file of no rows: its rows stay loaded (a folder emptied by mistake must not
erase a year of orders), and every run names it until someone decides. Withdrawing it removes its rows from raw, its
quarantined and duplicate rows from dq and its manifest entry, and records the withdrawal in dq.withdrawals; the next
run sees its records gone (identity.customer_changes), so its customers are graded again without them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipeline.contracts.model import SourceContract
from pipeline.ingest.loader import MANIFEST, ensure_raw_tables
from pipeline.ingest.source_files import list_source_files
from pipeline.quality.store import forget_file_version
from pipeline.warehouse_tables import transaction


class WithdrawError(ValueError):
    """A file that cannot be withdrawn; the message says why and what to do."""


@dataclass(frozen=True)
class GoneFile:
    source: str
    entity: str
    file: str  # relative to sources.root, as in the manifest
    rows_loaded: int


@dataclass(frozen=True)
class Withdrawal:
    source: str
    entity: str
    file: str
    rows_removed: int
    quarantined_removed: int


def _present(root: Path, contract: SourceContract) -> set[str]:
    """The files the contract's glob finds now, named as the manifest names them (relative to the root)."""
    return {p.relative_to(root).as_posix() for p in list_source_files(root, contract)}


def gone_files(con: duckdb.DuckDBPyConnection, contracts: list[SourceContract], root: Path) -> list[GoneFile]:
    """The loaded files of these contracts that their globs no longer find under the root."""
    out = []
    for contract in contracts:
        present = _present(root, contract)
        rows = con.execute(
            f"select file_path, coalesce(rows_loaded, 0) from {MANIFEST}"
            " where source = ? and entity = ? and status in ('loaded', 'replaced') order by file_path",
            [contract.source, contract.entity],
        ).fetchall()
        out += [GoneFile(contract.source, contract.entity, f, n) for f, n in rows if f not in present]
    return out


def withdraw(
    con: duckdb.DuckDBPyConnection,
    contracts: list[SourceContract],
    root: Path,
    file: str,
    source: str | None = None,
    now: datetime | None = None,
) -> Withdrawal:
    """Take a loaded file's rows out of the warehouse, in one transaction."""
    ensure_raw_tables(con)
    rel = Path(file).resolve().relative_to(root.resolve()).as_posix() if Path(file).is_absolute() else file
    loaded = con.execute(
        f"select source, entity, file_sha256 from {MANIFEST} where file_path = ? and source = coalesce(?, source)",
        [rel, source],
    ).fetchall()
    if not loaded:
        known = [f for (f,) in con.execute(f"select distinct file_path from {MANIFEST}").fetchall()]
        close = difflib.get_close_matches(rel, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise WithdrawError(f"no file {rel!r} is loaded{hint}; paths are relative to sources.root ({root})")
    if len(loaded) > 1:
        raise WithdrawError(f"{rel!r} is loaded by several sources {sorted(s for s, *_ in loaded)}: name one, --source")
    [(src, entity, sha)] = loaded
    contract = next((c for c in contracts if c.source == src and c.entity == entity), None)
    if contract is not None and rel in _present(root, contract):
        raise WithdrawError(
            f"{rel!r} is still in {root}: the next run would load it again. Move it out of the folder first."
        )
    with transaction(con):
        [(rows,)] = con.execute(
            f"select count(*) from raw.{entity} where _source = ? and _source_file = ?", [src, rel]
        ).fetchall()
        [(quarantined,)] = con.execute(
            "select count(distinct row_number) from dq.quarantine where source = ? and file = ?", [src, rel]
        ).fetchall()
        con.execute(f"delete from raw.{entity} where _source = ? and _source_file = ?", [src, rel])
        forget_file_version(con, src, rel, keep_sha=None)
        con.execute(f"delete from {MANIFEST} where source = ? and file_path = ?", [src, rel])
        con.execute(
            "insert into dq.withdrawals values (?, ?, ?, ?, ?, ?, ?)",
            [src, entity, rel, sha, rows, quarantined, now or datetime.now(UTC).replace(tzinfo=None)],
        )
    return Withdrawal(src, entity, rel, rows, quarantined)
