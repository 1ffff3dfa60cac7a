"""One daily partition per as-of date: a run of partition 2026-07-01 is the nightly run that grades as of
2026-07-01 (facts from data before that day). Every asset is partitioned the same way, so any run - the
schedule's, the sensor's, a backfill's, `crmgrade run --as-of` - carries exactly one as-of date, read by every
asset from the partition key instead of each computing "today" on its own.

The partitions run to today in the business time zone (end_offset=1: today's as-of date grades yesterday's
data, so it exists from midnight), from crmgrade.yml operations.partitions_start
(or the configured as-of date, when it is earlier).
"""

from __future__ import annotations

from datetime import date

import dagster as dg

from pipeline.config import Settings, load_settings


def as_of_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    # A configured as-of date before partitions_start (a history from the 1990s) starts the partitions there.
    start = settings.operations.partitions_start
    if settings.as_of_date is not None:
        start = min(start, settings.as_of_date)
    return dg.DailyPartitionsDefinition(
        start_date=start.isoformat(),
        timezone=settings.timezone,
        end_offset=1,
        fmt="%Y-%m-%d",
    )


def partition_key(as_of: date) -> str:
    return as_of.isoformat()


# Read when the code location loads, like the schedule's cron ($CRMGRADE_CONFIG or crmgrade.yml).
AS_OF_PARTITIONS = as_of_partitions(load_settings())
