"""The dbt project as Dagster assets: models keyed [schema, model], tests as asset checks."""

import json
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from pipeline.dbt_fingerprints import FINGERPRINTS_ENV, manifest_fingerprints
from pipeline.defs.dbt.project import (
    NO_ARTIFACTS,
    PRODUCTION_SELECTION,
    dbt_project,
    environment_of_dbt,
    remove_target_folder,
)
from pipeline.defs.partitions import partitioned
from pipeline.defs.resources import CrmgradeSettings
from pipeline.defs.retries import retry_if_transient
from pipeline.grading.spec import load_grading_spec

RUN_ID_ENV = "CRMGRADE_RUN_ID"
# Dagster runs a multi-asset in one step per stretch between Python assets. Every dbt node is ordered after identity
# (the customer keys every per-customer model reads), even a seed or a staging view that reads nothing of it: the
# models before identity would otherwise be a dbt step of their own (~10 s of dbt process), and a run invokes dbt
# twice: once up to the marts, once after the Python steps that read them (CLV, tags, backtests) for the models
# reading what those wrote (history, monitoring, bi).
AFTER_IDENTITY = dg.AssetKey(["identity", "record_links"])


class CrmgradeDbtTranslator(DagsterDbtTranslator):
    """Asset keys follow the warehouse: [schema, alias or name] for models, meta.dagster.asset_key for sources."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            config = dbt_resource_props["config"]
            return dg.AssetKey([config.get("schema") or "main", config.get("alias") or dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if AFTER_IDENTITY not in {dep.asset_key for dep in spec.deps}:
            return spec.merge_attributes(deps=[AFTER_IDENTITY])
        return spec


@partitioned(
    dbt_assets,
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=CrmgradeDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
)
def crmgrade_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: CrmgradeSettings):
    # The as-of date is fixed once per run here, so every model of the run sees the same date.
    cfg = settings.load_for(context)
    dbt_vars = cfg.dbt_vars()
    # what int_orders reads from the grading spec: a change recomputes every customer's orders
    fingerprinted = {**dbt_vars, "purchase_statuses": load_grading_spec(cfg.grading).purchase_statuses}
    environment = {
        # Dagster splits this multi-asset into two steps around the Python assets between dbt models
        # (CLV, tags, backtests). "buildable": a step runs a test only when every model it reads is built by this step
        # or before it, so a relationships test between a seed of step 1 and a mart of step 2 runs in step 2.
        "DBT_INDIRECT_SELECTION": os.environ.get("DBT_INDIRECT_SELECTION", "buildable"),
        # The history tables record the run; an environment variable, not a var: a var that changes every run
        # would make every dbt step parse the whole project again.
        RUN_ID_ENV: context.run_id,
        # Models built per customer recompute everyone when the code behind them changed
        # (macros/customer_increment.sql).
        FINGERPRINTS_ENV: manifest_fingerprints(dbt_project.manifest_path, fingerprinted),
    }
    context.log.info(f"dbt vars: {dbt_vars}")
    with environment_of_dbt(environment):
        invocation = dbt.cli(
            ["build", *PRODUCTION_SELECTION, *NO_ARTIFACTS, "--vars", json.dumps(dbt_vars)], context=context
        )
    try:
        yield from invocation.stream()
    except DagsterDbtCliRuntimeError as exc:
        retry_if_transient(exc)  # dbt could not open the warehouse: another process holds it
        raise  # the step's target folder stays, with dbt.log and the compiled SQL to look at
    remove_target_folder(invocation)
