"""Check the accounts: for every file judged in a run, what dq.reconciliation claims is what the tables hold.

The loader writes its counts; this check recounts them from raw, dq.quarantine and dq.duplicate_rows, so
a bug that loses or doubles rows fails the run instead of passing unnoticed.
"""

from __future__ import annotations

import duckdb


def latest_stopped_files(con: duckdb.DuckDBPyConnection, entity: str | None = None) -> list[tuple[str, str, str, str]]:
    """(source, file, status, message) of the files whose latest judgement stopped them (rejected or unreadable;
    an earlier version, if any, is still what is loaded), of one entity or all."""
    return con.execute(
        """select source, file, status, message from dq.reconciliation
           where entity = coalesce(?, entity)
           qualify row_number() over (partition by source, file order by checked_at desc) = 1
               and status in ('rejected', 'unreadable')
           order by source, file""",
        [entity],
    ).fetchall()


def reconciliation_problems(con: duckdb.DuckDBPyConnection, entity: str, run_id: str) -> list[str]:
    rows = con.execute(
        f"""
        with judged as (
            select * from dq.reconciliation where run_id = ? and entity = ?
        ),
        raw_rows as (
            select _source as source, _source_file as file, _file_sha256 as file_sha256, count(*) as n
            from raw.{entity}
            where (_source, _source_file) in (select (source, file) from judged)
            group by all
        ),
        quarantined as (
            select source, file, file_sha256, count(distinct row_number) as n
            from dq.quarantine where (source, file) in (select (source, file) from judged)
            group by all
        ),
        duplicates as (
            select source, file, file_sha256, count(*) as n
            from dq.duplicate_rows where (source, file) in (select (source, file) from judged)
            group by all
        )
        select j.source, j.file, j.status, j.rows_read, j.rows_loaded, j.rows_quarantined, j.rows_duplicate,
               j.balanced,
               coalesce(r.n, 0) as raw_n, coalesce(q.n, 0) as quarantine_n, coalesce(d.n, 0) as duplicate_n
        from judged j
        left join raw_rows r using (source, file, file_sha256)
        left join quarantined q using (source, file, file_sha256)
        left join duplicates d using (source, file, file_sha256)
        order by j.source, j.file
        """,
        [run_id, entity],
    ).fetchall()
    problems = []
    for source, file, status, read, loaded, quarantined, dups, balanced, raw_n, q_n, d_n in rows:
        where = f"{source} {file} ({status})"
        if not balanced:
            problems.append(f"{where}: read {read} != loaded {loaded} + quarantined {quarantined} + duplicates {dups}")
        if status in ("loaded", "replaced") and raw_n != loaded:
            problems.append(f"{where}: reconciliation says {loaded} rows loaded, raw.{entity} holds {raw_n}")
        if status != "duplicate_file" and q_n != quarantined:
            problems.append(f"{where}: reconciliation says {quarantined} quarantined, dq.quarantine holds {q_n}")
        if status != "duplicate_file" and d_n != dups:
            problems.append(f"{where}: reconciliation says {dups} duplicates, dq.duplicate_rows holds {d_n}")
    return problems
