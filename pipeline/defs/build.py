"""Everything Dagster runs, built from the settings: the one place the definitions are put together."""

from __future__ import annotations

import dagster as dg

from pipeline.config import Settings
from pipeline.defs.assets.activation import activation_outbox
from pipeline.defs.assets.grading import clv_assets, customer_tags, grading_spec_assets, shadow_grade_comparison
from pipeline.defs.assets.identity import identity_assets
from pipeline.defs.assets.ingest import ingest_assets
from pipeline.defs.assets.monitoring import (
    backtest_assets,
    grades_predict_better_than_chance,
    monitoring_report,
    spec_backtest_asset,
)
from pipeline.defs.assets.quality import dq_tables
from pipeline.defs.assets.serving import published, salt
from pipeline.defs.automation.freshness import check_keys, freshness_checks, freshness_sensor
from pipeline.defs.automation.jobs import all_assets_job
from pipeline.defs.automation.schedules import nightly_schedule
from pipeline.defs.automation.sensors import new_files_sensor
from pipeline.defs.dbt.assets import crmgrade_dbt_assets
from pipeline.defs.dbt.project import dbt_resource
from pipeline.defs.partitions import as_of_partitions
from pipeline.defs.progress import LOGGER, progress_logger
from pipeline.defs.resources import default_resources

# In the order a run goes through them; each builder takes the partitions (one per as-of date).
ASSET_BUILDERS = (
    ingest_assets,
    dq_tables,
    identity_assets,
    grading_spec_assets,
    crmgrade_dbt_assets,
    clv_assets,
    customer_tags,
    activation_outbox,
    shadow_grade_comparison,
    backtest_assets,
    spec_backtest_asset,
    monitoring_report,
    salt,
    published,
)


def in_schema_group(assets: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """Every asset in the group of its warehouse schema (the first part of its key): the asset graph reads like
    the database, for the Python assets and the dbt models alike."""
    return assets.map_asset_specs(lambda spec: spec.replace_attributes(group_name=spec.key.path[0]))


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    partitions = as_of_partitions(settings)
    built: list[dg.AssetsDefinition] = []
    for builder in ASSET_BUILDERS:
        made = builder(partitions)
        built += made if isinstance(made, list) else [made]
    return [in_schema_group(a) for a in built]


def build_definitions(settings: Settings) -> dg.Definitions:
    freshness = freshness_checks(settings)
    return dg.Definitions(
        assets=build_assets(settings),
        asset_checks=[grades_predict_better_than_chance, *freshness],
        jobs=[all_assets_job(check_keys(freshness))],
        schedules=[nightly_schedule(settings)],
        sensors=[new_files_sensor(settings), freshness_sensor(settings, freshness)],
        resources={**default_resources(), "dbt": dbt_resource()},
        # One process: DuckDB allows a single process per database file.
        executor=dg.in_process_executor,
        # the console logger for runs from the UI, schedule and sensor; `crmgrade run` selects the progress one
        loggers={"console": dg.colored_console_logger, LOGGER: progress_logger},
    )
