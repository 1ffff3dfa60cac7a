"""The one Dagster code location: ingest -> identity -> dbt (staging, intermediate, marts) -> grading ->
monitoring -> serving (the copy BI reads), run by the nightly schedule, the new-files sensor, or by hand (UI,
`crmgrade run`)."""

from __future__ import annotations

import os

import dagster as dg

from pipeline.assets.dbt import crmgrade_dbt_assets
from pipeline.assets.grading import clv_assets, customer_tags, grading_spec_assets, shadow_grade_comparison
from pipeline.assets.identity import identity_assets
from pipeline.assets.ingest import ingest_assets
from pipeline.assets.monitoring import (
    backtest_assets,
    grades_predict_better_than_chance,
    monitoring_report,
    spec_backtest_asset,
)
from pipeline.assets.quality import dq_tables
from pipeline.assets.serving import published, salt
from pipeline.config import load_settings
from pipeline.dbt_project import dbt_resource
from pipeline.freshness import FRESHNESS_CHECKS, freshness_sensor
from pipeline.jobs import all_assets_job
from pipeline.resources import default_resources
from pipeline.schedules import nightly_schedule
from pipeline.sensors import new_files_sensor

# The schedule's cron and the sensor's interval are read when the code location loads ($CRMGRADE_CONFIG or
# crmgrade.yml); everything else is read by the resources when a run starts.
_settings = load_settings()
# The DuckDB limits the warehouse resource and dbt read, unless `crmgrade run` exported them already.
for _name, _value in _settings.duckdb.environment(_settings.warehouse).items():
    os.environ.setdefault(_name, _value)

defs = dg.Definitions(
    assets=[
        *ingest_assets,
        dq_tables,
        identity_assets,
        grading_spec_assets,
        crmgrade_dbt_assets,
        clv_assets,
        customer_tags,
        shadow_grade_comparison,
        backtest_assets,
        spec_backtest_asset,
        monitoring_report,
        salt,
        published,
    ],
    asset_checks=[grades_predict_better_than_chance, *FRESHNESS_CHECKS],
    jobs=[all_assets_job],
    schedules=[nightly_schedule(_settings)],
    sensors=[new_files_sensor(_settings), freshness_sensor(_settings, FRESHNESS_CHECKS)],
    resources={**default_resources(), "dbt": dbt_resource()},
    # One process: DuckDB allows a single process per database file.
    executor=dg.in_process_executor,
)
