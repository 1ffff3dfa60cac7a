"""The job every trigger runs: all assets, one run at a time per warehouse (DuckDB has one writer)."""

from collections.abc import Sequence

import dagster as dg

JOB_NAME = "crmgrade_all"


def all_assets_job(freshness_checks: Sequence[dg.AssetCheckKey]):
    """Every asset with its checks, except the freshness checks (pipeline/defs/automation/freshness.py)."""
    return dg.define_asset_job(
        JOB_NAME,
        selection=dg.AssetSelection.all() - dg.AssetSelection.checks(*freshness_checks),
        description="Every asset, for one as-of date (the partition).",
    )


# Runs of the job that have not finished: a trigger starting another would wait on DuckDB's file lock.
_ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def active_run_ids(instance: dg.DagsterInstance) -> list[str]:
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=JOB_NAME, statuses=_ACTIVE), limit=5)
    return [run.run_id for run in runs]
