"""The dq tables the monitoring models read, closed for the run once every ingest asset has written to them.

The ingest assets record per file (dq.validation_results, dq.column_profiles, dq.reconciliation, and the
source's running total in dq.deliveries, so a killed run keeps what it judged); this asset, after all of them,
totals the run per source in dq.deliveries again and reports it, under the run's as-of date: runs happen at any
wall-clock time (a backfill grades many days in an hour), so monitoring's time axis is the as-of date, not when
a file was read. Its three keys are the dbt sources of models/staging/dq.
"""

import dagster as dg

from pipeline.contracts.schema import ENTITIES
from pipeline.defs.partitions import partitioned
from pipeline.defs.resources import CrmgradeSettings, DuckDBWarehouse
from pipeline.markdown import md_table
from pipeline.quality.store import record_deliveries, rows_of_run

DELIVERIES = dg.AssetKey(["dq", "deliveries"])
_RAW = [dg.AssetKey(["raw", entity]) for entity in ENTITIES]
_PER_FILE = {
    "validation_results": "Per file, run and rule: whether the file passed, rows checked and failing.",
    "column_profiles": "Per file and run: rows and empty values of every column the contract fills.",
    "reconciliation": "Per file and run: its status (loaded, replaced, unchanged, ...) and rows read = loaded + "
    "quarantined + duplicates.",
}


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
        rows = record_deliveries(con, context.run_id, as_of)
        per_file = {t: rows_of_run(con, t, context.run_id) for t in _PER_FILE}
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
