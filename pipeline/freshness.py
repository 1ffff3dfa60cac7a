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
    dg.AssetKey(["marts", "customer_tags"]),
    dg.AssetKey(["clv", "customer_predictions"]),
    dg.AssetKey(["history", "grade_history"]),
    dg.AssetKey(["monitoring", "report"]),
]


# The name Dagster gives every check it builds here: the job leaves them out (they judge runs, not data).
CHECK_KEYS = [dg.AssetCheckKey(key, "freshness_check") for key in WATCHED]


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
