"""The one Dagster code location: ingest -> identity -> dbt (staging, intermediate, marts) -> grading."""

from __future__ import annotations

import dagster as dg

from pipeline.assets.dbt import crmgrade_dbt_assets
from pipeline.assets.grading import clv_assets, customer_tags, grading_spec_assets
from pipeline.assets.identity import identity_assets
from pipeline.assets.ingest import ingest_assets
from pipeline.dbt_project import dbt_resource
from pipeline.resources import default_resources

all_assets_job = dg.define_asset_job("crmgrade_all", selection=dg.AssetSelection.all(), description="Every asset.")

defs = dg.Definitions(
    assets=[*ingest_assets, identity_assets, grading_spec_assets, crmgrade_dbt_assets, clv_assets, customer_tags],
    jobs=[all_assets_job],
    resources={**default_resources(), "dbt": dbt_resource()},
    # One process: DuckDB allows a single process per database file.
    executor=dg.in_process_executor,
)
