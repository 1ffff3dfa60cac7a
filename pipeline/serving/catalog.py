"""What a published version holds: every model of the dbt folder models/bi (documented in its YAML), the one list
(the tables Python writes that BI reads, the backtests, reach it through bi models over dbt sources)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb

from pipeline.serving.config import ServingConfig
from pipeline.serving.publish import SCHEMA, Published, PublishError, TableToPublish, publish


def bi_tables(manifest_path: Path) -> list[TableToPublish]:
    """The bi models of the dbt manifest, with their descriptions."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    tables = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["config"].get("schema") != SCHEMA:
            continue
        name = node["config"].get("alias") or node["name"]
        columns = {c: props.get("description", "") for c, props in node.get("columns", {}).items()}
        tables.append(TableToPublish(name, f'{SCHEMA}."{name}"', node.get("description", ""), columns))
    if not tables:
        raise ValueError(f"{manifest_path} has no models in schema {SCHEMA!r} (dbt_project/models/bi)")
    return sorted(tables, key=lambda t: t.name)


def publish_bi(
    con: duckdb.DuckDBPyConnection, serving: ServingConfig, manifest_path: Path, *, run_id: str, as_of_date: date
) -> Published:
    """Publish the working warehouse's bi schema as crmgrade.yml `serving` says: the
    run's last asset and `crmgrade publish` both go through here."""
    return publish(
        con,
        serving.dir,
        bi_tables(manifest_path),
        run_id=run_id,
        as_of_date=as_of_date,
        keep=serving.keep_versions,
        allowed_in_clear=set(serving.unmasked_columns),
    )


def publish_latest(
    con: duckdb.DuckDBPyConnection, serving: ServingConfig, manifest_path: Path, run_id: str
) -> Published:
    """Publish outside a run (after an erasure, or to retry a failed publish): what the bi views show now, as of
    the latest graded day."""
    [(as_of,)] = con.sql("select max(as_of_date) from bi.customer_grades").fetchall()
    if as_of is None:
        raise PublishError("the warehouse has no grades to publish: run the job first")
    return publish_bi(con, serving, manifest_path, run_id=run_id, as_of_date=as_of)
