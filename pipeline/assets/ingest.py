"""Ingest assets: one per canonical entity, each loading every source contract of that entity into `raw`."""

import dagster as dg

from pipeline.contracts import load_contracts
from pipeline.contracts.schema import ENTITIES
from pipeline.ingest.loader import FileResult, ingest_contract
from pipeline.resources import CrmgradeSettings, DuckDBWarehouse


def _ingest_asset(entity: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=entity,
        key_prefix="raw",
        group_name="ingest",
        description=f"Every source file whose contract maps to `{entity}`, loaded into raw.{entity} with lineage.",
        kinds={"polars", "duckdb"},
    )
    def _asset(context: dg.AssetExecutionContext, settings: CrmgradeSettings, warehouse: DuckDBWarehouse):
        cfg = settings.load()
        contracts = [c for c in load_contracts(cfg.sources.contracts) if c.entity == entity]
        per_source: dict[str, dict[str, int]] = {}
        failures: list[str] = []

        def on_file(result: FileResult) -> None:
            context.log.info(
                f"{result.source}: {result.file} {result.status}, {result.rows} rows, {result.seconds:.1f}s"
            )

        with warehouse.connect() as con:
            for contract in contracts:
                # One failing source must not stop the others; the asset fails at the end, naming it.
                try:
                    results = ingest_contract(
                        con, contract, cfg.sources.root, warehouse_tz=cfg.timezone, on_file=on_file
                    )
                except Exception as exc:
                    context.log.error(f"source {contract.source!r}: {exc}")
                    failures.append(f"{contract.source}: {exc}")
                    continue
                stats = per_source.setdefault(contract.source, {"files": 0, "loaded": 0, "unchanged": 0})
                stats["files"] += len(results)
                stats["loaded"] += sum(r.rows for r in results)
                stats["unchanged"] += sum(r.status in ("unchanged", "duplicate") for r in results)
            table_rows = con.execute(f"select count(*) from raw.{entity}").fetchone()[0]
        if failures:
            raise dg.Failure(
                description=f"raw.{entity}: {len(failures)} source(s) failed",
                metadata={"errors": dg.MetadataValue.md("\n".join(f"- {f}" for f in failures))},
            )
        return dg.MaterializeResult(
            metadata={
                "table_rows": dg.MetadataValue.int(table_rows),
                "rows_loaded_this_run": dg.MetadataValue.int(sum(s["loaded"] for s in per_source.values())),
                "per_source": dg.MetadataValue.json(per_source),
            }
        )

    return _asset


ingest_assets = [_ingest_asset(entity) for entity in ENTITIES]
