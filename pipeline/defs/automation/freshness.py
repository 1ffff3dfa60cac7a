"""Freshness checks on what people read: by crmgrade.yml operations.freshness.deadline_cron (06:00 by default,
in the schedule's time zone) the partition of that day's as-of date must be materialized, or the check fails
(WARN) and names the partition it expected. A sensor evaluates them; Dagster's newer FreshnessPolicy judges an
asset as a whole, not its latest partition, so a backfill of an old day would make it look fresh.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from pipeline.config import Settings

WATCHED = [
    dg.AssetKey(["marts", "fct_customer"]),
    dg.AssetKey(["marts", "customer_grades"]),
    dg.AssetKey(["tags", "customer_tags"]),
    dg.AssetKey(["clv", "customer_predictions"]),
    dg.AssetKey(["history", "grade_history"]),
    dg.AssetKey(["monitoring", "report"]),
]


def freshness_checks(settings: Settings) -> Sequence[dg.AssetChecksDefinition]:
    return dg.build_time_partition_freshness_checks(
        assets=WATCHED,
        deadline_cron=settings.operations.freshness.deadline_cron,
        timezone=settings.schedule_timezone,
    )


def freshness_sensor(settings: Settings, checks: Sequence[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    enabled = settings.operations.freshness.enabled
    return dg.build_sensor_for_freshness_checks(
        freshness_checks=checks,
        name="marts_freshness",
        default_status=dg.DefaultSensorStatus.RUNNING if enabled else dg.DefaultSensorStatus.STOPPED,
    )


def check_keys(checks: Sequence[dg.AssetChecksDefinition]) -> list[dg.AssetCheckKey]:
    """The keys of the freshness checks: the job leaves them out (they judge the schedule against the clock, not
    the data); their sensor runs them."""
    return [key for definition in checks for key in definition.check_keys]
