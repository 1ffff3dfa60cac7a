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
and a file replaced by new content takes the old version's rows with it, like the raw rows. FileRecords is the one
writer of a file's rows in the per-file tables (the loader judges, this module writes).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import duckdb
import polars as pl

from pipeline.quality.validate import Validation
from pipeline.warehouse_tables import insert_frame

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
        seconds double,
        -- the as-of date of the run that judged the file: monitoring's time axis (runs happen at any wall time)
        as_of_date date,
        -- rows of erased people left out by the suppression list (pipeline/privacy): read = loaded + quarantined
        -- + duplicates + suppressed
        rows_suppressed bigint default 0,
        -- orders of the file that an earlier-loaded file of its source already held: this file's state of them
        -- replaces the earlier one (macros/latest_delivery.sql), never summed with it
        orders_redelivered bigint default 0
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


# The values of KEYS, in order.
KEY_NAMES = ["run_id", "source", "entity", "file", "file_sha256"]


class FileRecords:
    """What judging one version of one file writes to the dq tables above: its quarantined rows, the duplicates
    removed, the rule results, the column profile and the reconciliation, each stamped with KEYS and the time."""

    def __init__(self, con: duckdb.DuckDBPyConnection, keys: list[str], at: datetime, as_of_date: date | None):
        self.con, self.values, self.at, self.as_of_date = con, keys, at, as_of_date

    def keys(self) -> list[pl.Expr]:
        """run_id, source, entity, file, file_sha256: the columns every dq table starts with."""
        return [pl.lit(v).alias(k) for k, v in zip(KEY_NAMES, self.values, strict=True)]

    def reconciliation(self, result: Any, delivery_day: date) -> None:
        """dq.reconciliation from a file's result (ingest/loader.py FileResult), and the source's dq.deliveries
        re-totalled for `delivery_day` in the same transaction: a run killed after this file still has it."""
        r = result
        accounted = r.rows_loaded + r.rows_quarantined + r.rows_duplicate + r.rows_suppressed
        self.con.execute(
            "insert into dq.reconciliation values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                *self.values,
                r.status,
                r.rows_read,
                r.rows_loaded,
                r.rows_quarantined,
                r.rows_duplicate,
                r.rows_read == accounted,
                r.message,
                self.at,
                r.seconds,
                self.as_of_date,
                r.rows_suppressed,
                r.orders_redelivered,
            ],
        )
        run_id, source = self.values[0], self.values[1]
        record_file_delivery(self.con, run_id, source, delivery_day)

    def column_profile(self, frame: pl.DataFrame, columns: list[str]) -> None:
        """Rows and nulls of each of `columns` (those the contract fills): a column going empty is a broken export."""
        if not columns:
            return
        nulls = frame.select(pl.col(c).null_count() for c in columns).row(0)
        profile = pl.DataFrame(
            {"column_name": columns, "null_rows": list(nulls)}, schema={"column_name": pl.String, "null_rows": pl.Int64}
        ).select(
            *self.keys(),
            pl.lit(self.as_of_date, dtype=pl.Date).alias("as_of_date"),
            "column_name",
            pl.lit(frame.height, dtype=pl.Int64).alias("rows_profiled"),
            "null_rows",
            pl.lit(self.at).alias("profiled_at"),
        )
        insert_frame(self.con, "dq.column_profiles", profile)

    def quarantine(self, rows: pl.DataFrame) -> None:
        """rows: _row_number, rule, on_failure, reason, record."""
        if rows.height:
            row = pl.col("_row_number").alias("row_number")
            at = pl.lit(self.at).alias("quarantined_at")
            columns = rows.select(*self.keys(), row, "rule", "on_failure", "reason", "record", at)
            insert_frame(self.con, "dq.quarantine", columns)

    def duplicates(self, dups: pl.DataFrame) -> None:
        """dups: _row_number, duplicate_of_file, duplicate_of_row."""
        if dups.height:
            row = pl.col("_row_number").alias("row_number")
            at = pl.lit(self.at).alias("removed_at")
            columns = dups.select(*self.keys(), row, "duplicate_of_file", "duplicate_of_row", at)
            insert_frame(self.con, "dq.duplicate_rows", columns)

    def validation(
        self, validation: Validation | None, extra: list[tuple[str, str, bool, int, str]], suite: str
    ) -> None:
        """Per rule: the suite's outcomes and the reader's own rules (name, on_failure, success, count, message);
        `suite`: the suite's name when there was no validation."""
        rows = []
        for name, on_failure, success, count, message in extra:
            rows.append([name, "reader", on_failure, success, None, count, None, None, message])
        if validation is not None:
            for o in validation.outcomes:
                rows.append(
                    [
                        o.rule.name,
                        o.rule.type,
                        o.rule.on_failure,
                        o.success,
                        validation.rows,
                        o.unexpected_count,
                        json.dumps(o.sample, ensure_ascii=False, default=str),
                        json.dumps(o.observed, ensure_ascii=False, default=str),
                        None if o.success else o.message,
                    ]
                )
        schema = {
            "rule": pl.String,
            "expectation_type": pl.String,
            "on_failure": pl.String,
            "success": pl.Boolean,
            "rows_checked": pl.Int64,
            "unexpected_count": pl.Int64,
            "sample": pl.String,
            "observed": pl.String,
            "message": pl.String,
        }
        frame = pl.DataFrame(rows, schema=schema, orient="row").select(
            *self.keys(),
            pl.lit(validation.suite.name if validation else suite).alias("suite"),
            pl.all(),
            pl.lit(self.at).alias("validated_at"),
        )
        insert_frame(self.con, "dq.validation_results", frame)
