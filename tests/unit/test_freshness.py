"""Freshness checks: by the deadline the watched assets must hold the partition of that day's as-of date."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from pipeline.config import load_settings
from pipeline.defs.automation.freshness import WATCHED, check_keys, freshness_checks
from pipeline.defs.automation.jobs import JOB_NAME
from pipeline.defs.partitions import as_of_partitions

SETTINGS = load_settings()
CHECK_KEYS = check_keys(freshness_checks(SETTINGS))


def _stand_ins() -> list[dg.AssetsDefinition]:
    """Assets with the watched keys and the job's partitions: what the checks read is the instance's records."""

    def stand_in(key: dg.AssetKey) -> dg.AssetsDefinition:
        @dg.asset(key=key, partitions_def=as_of_partitions(SETTINGS))
        def _stand_in() -> None:
            return None

        return _stand_in

    return [stand_in(key) for key in WATCHED]


def _due_partition() -> str:
    """The as-of date due by the latest deadline (06:00 in the schedule's time zone): today after 06:00."""
    now = datetime.now(ZoneInfo(SETTINGS.schedule_timezone))
    deadline = time(6, 0)
    assert SETTINGS.operations.freshness.deadline_cron == "0 6 * * *"
    return (now.date() if now.time() >= deadline else now.date() - timedelta(days=1)).isoformat()


def _evaluate(materialized: str) -> list[dg.AssetCheckEvaluation]:
    assets, checks = _stand_ins(), freshness_checks(SETTINGS)
    instance = dg.DagsterInstance.ephemeral()
    assert dg.materialize(assets, partition_key=materialized, instance=instance).success
    job = dg.define_asset_job("freshness", selection=dg.AssetSelection.checks(*CHECK_KEYS))
    defs = dg.Definitions(assets=assets, asset_checks=checks, jobs=[job])
    return defs.get_job_def("freshness").execute_in_process(instance=instance).get_asset_check_evaluations()


def test_the_watched_assets_are_fresh_when_the_due_as_of_date_is_built():
    due = _due_partition()
    evaluations = _evaluate(due)
    assert sorted(e.asset_key for e in evaluations) == sorted(WATCHED)
    assert all(e.passed for e in evaluations)


def test_a_missing_night_is_overdue_and_named():
    due = _due_partition()
    yesterday = (datetime.fromisoformat(due) - timedelta(days=1)).date().isoformat()
    evaluations = _evaluate(yesterday)
    assert evaluations and not any(e.passed for e in evaluations)
    assert all(e.severity == dg.AssetCheckSeverity.WARN for e in evaluations)
    assert f"expected partition {due}" in evaluations[0].description


def test_the_job_leaves_the_freshness_checks_to_their_sensor(dbt_manifest):
    from pipeline.defs.build import build_definitions  # after the manifest exists

    defs = build_definitions(SETTINGS)
    assert set(WATCHED) <= set(defs.resolve_all_asset_keys())
    job_checks = defs.get_job_def(JOB_NAME).asset_layer.asset_graph.asset_check_keys
    assert not set(CHECK_KEYS) & set(job_checks)
    assert len(CHECK_KEYS) == len(WATCHED) and set(CHECK_KEYS) <= set(defs.resolve_asset_graph().asset_check_keys)
    sensor = defs.get_sensor_def("marts_freshness")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
