"""Load source files into the warehouse's `raw` schema, idempotently.

Per file, in one transaction: skip it when the manifest already holds the same content for this source;
otherwise delete the rows an earlier version of the same file left, insert the new rows, and record the file
in `raw._ingest_manifest`. The rows travel Polars -> Parquet (streamed, bounded memory) -> DuckDB.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipeline.contracts.model import SourceContract
from pipeline.contracts.schema import DUCKDB_TYPES, ENTITIES, LINEAGE
from pipeline.ingest.readers import file_sha256, read_source_file
from pipeline.ingest.transform import to_canonical

log = logging.getLogger(__name__)

MANIFEST = "raw._ingest_manifest"


@dataclass(frozen=True)
class FileResult:
    source: str
    entity: str
    file: str
    status: str  # loaded | replaced | unchanged | duplicate
    rows: int
    seconds: float


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create `raw` tables from the canonical schema; add columns a newer schema introduced."""
    con.execute("create schema if not exists raw")
    for entity, columns in ENTITIES.items():
        cols = {**{c: DUCKDB_TYPES[t] for c, t in columns.items()}, **LINEAGE}
        ddl = ", ".join(f'"{c}" {t}' for c, t in cols.items())
        con.execute(f"create table if not exists raw.{entity} ({ddl})")
        for c, t in cols.items():
            con.execute(f'alter table raw.{entity} add column if not exists "{c}" {t}')
    con.execute(
        f"""create table if not exists {MANIFEST} (
            source varchar not null,
            entity varchar not null,
            file_path varchar not null,
            file_sha256 varchar not null,
            file_bytes bigint not null,
            rows_loaded bigint not null,
            status varchar not null,
            duplicate_of varchar,
            ingested_at timestamp not null,
            primary key (source, file_path)
        )"""
    )


def list_source_files(root: Path, contract: SourceContract) -> list[Path]:
    return sorted(p for p in root.glob(contract.path) if p.is_file())


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    contract: SourceContract,
    root: Path,
    path: Path,
    *,
    warehouse_tz: str,
    workdir: Path,
) -> FileResult:
    start = time.perf_counter()
    rel = path.relative_to(root).as_posix()
    sha = file_sha256(path)
    known = con.execute(
        f"select file_path, file_sha256 from {MANIFEST} where source = ? and (file_path = ? or file_sha256 = ?)"
        " order by file_path = ? desc",
        [contract.source, rel, sha, rel],
    ).fetchall()
    if any(fp == rel and s == sha for fp, s in known):
        return FileResult(contract.source, contract.entity, rel, "unchanged", 0, time.perf_counter() - start)
    same_content = next((fp for fp, s in known if s == sha and fp != rel), None)
    now = datetime.now(UTC).replace(tzinfo=None)
    if same_content:
        # A re-export under a new name: record it, load nothing, so its rows are not counted twice.
        # If this name held other content before, its old rows go.
        con.execute("begin transaction")
        con.execute(
            f"delete from raw.{contract.entity} where _source = ? and _source_file = ?",
            [contract.source, rel],
        )
        con.execute(
            f"insert or replace into {MANIFEST} values (?, ?, ?, ?, ?, 0, 'duplicate', ?, ?)",
            [contract.source, contract.entity, rel, sha, path.stat().st_size, same_content, now],
        )
        con.execute("commit")
        return FileResult(contract.source, contract.entity, rel, "duplicate", 0, time.perf_counter() - start)

    with tempfile.TemporaryDirectory(dir=workdir) as filedir:
        lf = read_source_file(path, contract, Path(filedir))
        lf = to_canonical(lf, contract, source_file=rel, file_sha256=sha, ingested_at=now, warehouse_tz=warehouse_tz)
        parquet = Path(workdir) / f"{sha}.parquet"
        lf.sink_parquet(parquet)
    replaced = any(fp == rel for fp, _ in known)
    table = f"raw.{contract.entity}"
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {table} where _source = ? and _source_file = ?", [contract.source, rel])
        con.execute(f"insert into {table} by name select * from read_parquet(?)", [str(parquet)])
        rows = con.execute(
            f"select count(*) from {table} where _source = ? and _source_file = ?", [contract.source, rel]
        ).fetchone()[0]
        con.execute(
            f"insert or replace into {MANIFEST} values (?, ?, ?, ?, ?, ?, ?, null, ?)",
            [
                contract.source,
                contract.entity,
                rel,
                sha,
                path.stat().st_size,
                rows,
                "replaced" if replaced else "loaded",
                now,
            ],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        parquet.unlink(missing_ok=True)
    return FileResult(
        contract.source,
        contract.entity,
        rel,
        "replaced" if replaced else "loaded",
        rows,
        time.perf_counter() - start,
    )


def ingest_contract(
    con: duckdb.DuckDBPyConnection,
    contract: SourceContract,
    root: Path,
    *,
    warehouse_tz: str,
    on_file: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Ingest every file of one source. Temporary files live in a folder removed afterwards."""
    ensure_raw_tables(con)
    results = []
    with tempfile.TemporaryDirectory(prefix="crmgrade-ingest-") as tmp:
        for path in list_source_files(root, contract):
            result = ingest_file(con, contract, root, path, warehouse_tz=warehouse_tz, workdir=Path(tmp))
            log.info(
                "%s %s: %s, %d rows in %.1fs",
                contract.source,
                result.file,
                result.status,
                result.rows,
                result.seconds,
            )
            if on_file:
                on_file(result)
            results.append(result)
    return results
