"""The dq tables the monitoring models read, closed for the run once every ingest asset has written to them.

The ingest assets record per file (dq.validation_results, dq.column_profiles, dq.reconciliation); this asset,
after all of them, totals the run per source in dq.deliveries under the run's as-of date: runs happen at any
wall-clock time (a backfill grades many days in an hour), so monitoring's time axis is the as-of date, not when
a file was read. Its three keys are the dbt sources of models/staging/dq.
"""

import dagster as dg

from pipeline.contracts.schema import ENTITIES
from pipeline.defs.partitions import partitioned
from pipeline.defs.resources import CrmgradeSettings, DuckDBWarehouse
from pipeline.markdown import md_table

DELIVERIES = dg.AssetKey(["dq", "deliveries"])
_RAW = [dg.AssetKey(["raw", entity]) for entity in ENTITIES]
_PER_FILE = {
    "validation_results": "Per file, run and rule: whether the file passed, rows checked and failing.",
    "column_profiles": "Per file and run: rows and empty values of every column the contract fills.",
    "reconciliation": "Per file and run: its status (loaded, replaced, unchanged, ...) and rows read = loaded + "
    "quarantined + duplicates.",
}

_DDL = """create table if not exists dq.deliveries (
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
)"""

_TOTALS = """
    select ? as run_id, ? as as_of_date, source,
        count(*) as files_judged,
        count(*) filter (where status in ('rejected', 'unreadable')) as files_stopped,
        coalesce(sum(rows_read), 0) as rows_read,
        sum(rows_loaded) as rows_loaded,
        sum(rows_quarantined) as rows_quarantined,
        sum(rows_duplicate) as rows_duplicate,
        current_timestamp::timestamp as recorded_at
    from dq.reconciliation
    where run_id = ?
    group by source
    order by source
"""


@partitioned(
    dg.multi_asset,
    specs=[
        dg.AssetSpec(
            DELIVERIES,
            deps=_RAW,
            kinds={"duckdb"},
            description="Per run and source: files judged and stopped, rows read, loaded, quarantined and "
            "duplicate, under the run's as-of date. A source that sent nothing new has no row.",
        ),
        *(
            dg.AssetSpec(["dq", table], deps=_RAW, kinds={"duckdb"}, description=text)
            for table, text in _PER_FILE.items()
        ),
    ],
)
def dq_tables(context: dg.AssetExecutionContext, settings: CrmgradeSettings, warehouse: DuckDBWarehouse):
    as_of = settings.load_for(context).resolved_as_of_date()
    with warehouse.connect() as con:
        con.execute(_DDL)
        con.execute("begin transaction")
        con.execute("delete from dq.deliveries where run_id = ?", [context.run_id])
        con.execute(f"insert into dq.deliveries {_TOTALS}", [context.run_id, as_of, context.run_id])
        con.execute("commit")
        rows = con.sql(
            "select source, files_judged, files_stopped, rows_read, rows_loaded, rows_quarantined, rows_duplicate"
            " from dq.deliveries where run_id = ? order by source",
            params=[context.run_id],
        ).fetchall()
        per_file = {
            t: con.sql(f"select count(*) from dq.{t} where run_id = ?", params=[context.run_id]).fetchall()[0][0]
            for t in _PER_FILE
        }
    table = md_table(["source", "files", "stopped", "read", "loaded", "quarantined", "duplicates"], rows)
    for t, n in per_file.items():
        yield dg.MaterializeResult(asset_key=["dq", t], metadata={"rows_this_run": n})
    yield dg.MaterializeResult(
        asset_key=DELIVERIES,
        metadata={
            "as_of_date": as_of.isoformat(),
            "sources_delivering": len(rows),
            "rows_read": sum(r[3] for r in rows),
            "deliveries": dg.MetadataValue.md(table if rows else "No new or changed files this run."),
        },
    )
