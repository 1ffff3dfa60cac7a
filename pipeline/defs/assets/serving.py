"""Serving BI: the salt of the bi schema's hashed columns, and the publishing of the serving copy."""

import dagster as dg
import polars as pl

from pipeline.defs.dbt.project import dbt_project
from pipeline.defs.partitions import partitioned
from pipeline.defs.resources import CrmgradeSettings, DuckDBWarehouse
from pipeline.privacy.salt import privacy_salt
from pipeline.serving.catalog import bi_tables, publish_bi
from pipeline.warehouse_tables import replace_tables

PUBLISHED_TAG = "crmgrade/published_version"


@partitioned(
    dg.asset,
    key=["privacy", "salt"],
    kinds={"duckdb"},
    description="The secret salt of the bi schema's hashed columns, in the working warehouse only "
    "($CRMGRADE_PRIVACY_SALT, else the file salt in crmgrade.yml privacy.dir).",
)
def salt(context: dg.AssetExecutionContext, settings: CrmgradeSettings, warehouse: DuckDBWarehouse):
    cfg = settings.load_for(context)
    with warehouse.connect() as con:
        replace_tables(con, "privacy", {"salt": pl.DataFrame({"salt": [privacy_salt(cfg.privacy.dir)]})})


def _published_deps() -> list[dg.AssetKey]:
    """Everything a version holds, and the report: publishing comes last, after every check of the run."""
    tables = bi_tables(dbt_project.manifest_path)
    return [*(dg.AssetKey(["bi", t.name]) for t in tables), dg.AssetKey(["monitoring", "report"])]


def published(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    # its upstream is the bi models of the dbt manifest: read when the definitions are built, not at import
    @dg.asset(
        partitions_def=partitions,
        key=["serving", "published"],
        deps=_published_deps(),
        kinds={"duckdb", "parquet"},
        description="The serving copy BI tools read: the bi schema as a new version under serving.dir "
        "(warehouse.duckdb and Parquet), switched atomically once every blocking check of the run has passed.",
    )
    def _published(context: dg.AssetExecutionContext, settings: CrmgradeSettings, warehouse: DuckDBWarehouse):
        failed = _failed_blocking_checks(context)
        if failed:  # Dagster skips the steps after a failed blocking check; this also covers checks in other steps
            raise dg.Failure(f"not published: blocking checks failed in this run: {', '.join(failed)}")
        cfg = settings.load_for(context)
        with warehouse.connect() as con:
            result = publish_bi(
                con, cfg.serving, dbt_project.manifest_path, run_id=context.run_id, as_of_date=cfg.resolved_as_of_date()
            )
        context.instance.add_run_tags(context.run_id, {PUBLISHED_TAG: result.version})
        context.log.info(f"published {result.version} to {cfg.serving.dir}; removed {result.removed or 'none'}")
        return dg.MaterializeResult(
            metadata={
                "version": result.version,
                "path": dg.MetadataValue.path(str(cfg.serving.dir / "warehouse.duckdb")),
                "tables": dg.MetadataValue.json(result.rows),
                "versions_removed": dg.MetadataValue.json(result.removed),
            }
        )

    return _published


def _failed_blocking_checks(context: dg.AssetExecutionContext) -> list[str]:
    records = context.instance.get_records_for_run(
        context.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    failed = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        blocking = evaluation.blocking or evaluation.severity == dg.AssetCheckSeverity.ERROR
        if not evaluation.passed and blocking:
            failed.append(evaluation.asset_check_key.to_user_string())
    return failed
