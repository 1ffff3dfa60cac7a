"""The `dq` schema: where every row that did not load is kept, and the per-file accounts that prove it.

- dq.quarantine: one row per rejected row and failed rule, with the record exactly as read;
- dq.duplicate_rows: exact duplicates removed, each pointing at the row it repeats;
- dq.reconciliation: per file and run, rows read = rows loaded + rows quarantined + duplicates removed;
- dq.validation_results: per file, run and rule: success, unexpected count, sample values;
- dq.column_profiles: per file and run, rows and nulls of every column the contract fills (drift alerts);
- dq.withdrawals: the files taken out with `crmgrade source withdraw`, with the rows removed;
- dq.deliveries: per run and source, the files judged and their rows, under the run's as-of date (monitoring's
  time axis, since runs happen at any wall-clock time). Re-totalled in each file's own transaction, so a run
  killed half-way still has the deliveries of the files it judged: the next run sees them as unchanged.

Rows belong to a version of a file (its SHA-256): judging the same content again replaces its rows here,
and a file replaced by new content takes the old version's rows with it, like the raw rows.
"""

from __future__ import annotations

from datetime import date

import duckdb

# The columns every dq table starts with: which run judged which version of which file.
KEYS = """run_id varchar not null,
        source varchar not null,
        entity varchar not null,
        file varchar not null,
        file_sha256 varchar not null,"""

DDL = [
    "create schema if not exists dq",
    f"""create table if not exists dq.quarantine (
        {KEYS}
        row_number bigint,
        rule varchar not null,
        on_failure varchar not null,
        reason varchar,
        record varchar,
        quarantined_at timestamp not null
    )""",
    f"""create table if not exists dq.duplicate_rows (
        {KEYS}
        row_number bigint not null,
        duplicate_of_file varchar not null,
        duplicate_of_row bigint not null,
        removed_at timestamp not null
    )""",
    f"""create table if not exists dq.reconciliation (
        {KEYS}
        status varchar not null,
        rows_read bigint,
        rows_loaded bigint not null,
        rows_quarantined bigint not null,
        rows_duplicate bigint not null,
        balanced boolean not null,
        message varchar,
        checked_at timestamp not null,
        seconds double
    )""",
    f"""create table if not exists dq.validation_results (
        {KEYS}
        suite varchar not null,
        rule varchar not null,
        expectation_type varchar not null,
        on_failure varchar not null,
        success boolean not null,
        rows_checked bigint,
        unexpected_count bigint,
        sample varchar,
        observed varchar,
        message varchar,
        validated_at timestamp not null
    )""",
    f"""create table if not exists dq.column_profiles (
        {KEYS}
        as_of_date date,
        column_name varchar not null,
        rows_profiled bigint not null,
        null_rows bigint not null,
        profiled_at timestamp not null
    )""",
    # The as-of date of the run that judged the file: monitoring's time axis (runs happen at any wall time).
    "alter table dq.reconciliation add column if not exists as_of_date date",
    # Rows of erased people left out by the suppression list (pipeline/privacy): read = loaded + quarantined
    # + duplicates + suppressed.
    "alter table dq.reconciliation add column if not exists rows_suppressed bigint default 0",
    # Orders of the file that an earlier-loaded file of its source already held: this file's state of them replaces
    # the earlier one (macros/latest_delivery.sql), never summed with it.
    "alter table dq.reconciliation add column if not exists orders_redelivered bigint default 0",
    # Files taken out with `crmgrade source withdraw` (pipeline/ingest/withdraw.py): what was removed, and when.
    """create table if not exists dq.withdrawals (
        source varchar not null,
        entity varchar not null,
        file varchar not null,
        file_sha256 varchar,
        rows_removed bigint not null,
        quarantined_removed bigint not null,
        withdrawn_at timestamp not null
    )""",
    """create table if not exists dq.deliveries (
        run_id varchar not null,
        as_of_date date not null,
        source varchar not null,
        files_judged bigint not null,
        files_stopped bigint not null,
        rows_read bigint not null,
        rows_loaded bigint not null,
        rows_quarantined bigint not null,
        rows_duplicate bigint not null,
        recorded_at timestamp not null
    )""",
]
PER_FILE_TABLES = ("quarantine", "duplicate_rows", "reconciliation", "validation_results", "column_profiles")
_DELIVERIES = """
    select ? as run_id, ? as as_of_date, source,
        count(*) as files_judged,
        count(*) filter (where status in ('rejected', 'unreadable')) as files_stopped,
        coalesce(sum(rows_read), 0) as rows_read,
        sum(rows_loaded) as rows_loaded,
        sum(rows_quarantined) as rows_quarantined,
        sum(rows_duplicate) as rows_duplicate,
        current_timestamp::timestamp as recorded_at
    from dq.reconciliation
    where run_id = ? {and_source}
    group by source
    order by source
"""


def ensure_dq_tables(con: duckdb.DuckDBPyConnection) -> None:
    for statement in DDL:
        con.execute(statement)


def forget_file_version(con: duckdb.DuckDBPyConnection, source: str, file: str, keep_sha: str | None) -> None:
    """Remove quarantine and duplicate rows of `file` except those of version `keep_sha` (None: all)."""
    for table in ("dq.quarantine", "dq.duplicate_rows"):
        con.execute(
            f"delete from {table} where source = ? and file = ? and file_sha256 is distinct from ?",
            [source, file, keep_sha],
        )


def forget_judgement(con: duckdb.DuckDBPyConnection, source: str, file: str, sha: str) -> None:
    """Remove the quarantine and duplicate rows an earlier judgement of this same content left."""
    for table in ("dq.quarantine", "dq.duplicate_rows"):
        con.execute(f"delete from {table} where source = ? and file = ? and file_sha256 = ?", [source, file, sha])


def record_file_delivery(con: duckdb.DuckDBPyConnection, run_id: str, source: str, as_of_date: date) -> None:
    """Re-total one source's row of dq.deliveries for the run, inside the caller's transaction (a file's)."""
    con.execute("delete from dq.deliveries where run_id = ? and source = ?", [run_id, source])
    totals = _DELIVERIES.format(and_source="and source = ?")
    con.execute(f"insert into dq.deliveries {totals}", [run_id, as_of_date, run_id, source])


def record_deliveries(con: duckdb.DuckDBPyConnection, run_id: str, as_of_date: date) -> list[tuple]:
    """Total the run's files per source into dq.deliveries again (each file already did, for its source).
    Returns (source, files_judged, files_stopped, rows_read, rows_loaded, rows_quarantined, rows_duplicate)."""
    ensure_dq_tables(con)
    con.execute("begin transaction")
    con.execute("delete from dq.deliveries where run_id = ?", [run_id])
    con.execute(f"insert into dq.deliveries {_DELIVERIES.format(and_source='')}", [run_id, as_of_date, run_id])
    con.execute("commit")
    return con.execute(
        "select source, files_judged, files_stopped, rows_read, rows_loaded, rows_quarantined, rows_duplicate"
        " from dq.deliveries where run_id = ? order by source",
        [run_id],
    ).fetchall()


def rows_of_run(con: duckdb.DuckDBPyConnection, table: str, run_id: str) -> int:
    """Rows a run wrote to one per-file dq table."""
    if table not in PER_FILE_TABLES:
        raise ValueError(f"dq.{table} is not a per-file dq table: {PER_FILE_TABLES}")
    return con.execute(f"select count(*) from dq.{table} where run_id = ?", [run_id]).fetchall()[0][0]
