"""One daily partition per as-of date: a run of partition 2026-07-01 is the nightly run that grades as of
2026-07-01 (facts from data before that day). Every asset is partitioned the same way, so any run - the
schedule's, the sensor's, a backfill's, `crmgrade run --as-of` - carries exactly one as-of date, read by every
asset from the partition key instead of each computing "today" on its own.

The partitions run to today in the business time zone (end_offset=1: today's as-of date grades yesterday's
data, so it exists from midnight), from crmgrade.yml operations.partitions_start
(or the configured as-of date, when it is earlier).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import dagster as dg

from pipeline.config import Settings

# An asset definition still waiting for the partitions, which come from the settings of the code location
Partitioned = Callable[[dg.PartitionsDefinition], dg.AssetsDefinition]


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
    """An as-of date as Dagster names its partition; as_of_date reads it back. The as-of date is a `date`
    everywhere else, and a string only here and in the dbt vars (config.py Settings.dbt_vars)."""
    return as_of.isoformat()


def as_of_date(key: str) -> date:
    return date.fromisoformat(key)


def partitioned(decorator: Callable[..., Callable], **kwargs) -> Callable[[Callable], Partitioned]:
    """`decorator` (dg.asset, dg.multi_asset, dbt_assets) with `kwargs`, applied once the partitions are known.

    The partitions depend on crmgrade.yml (start, time zone), which is read once, when the definitions are built
    (pipeline/defs/__init__.py build_definitions), never when a module is imported: the decorated function
    becomes a builder taking the partitions and returning the asset definition.
    """

    def wrap(fn: Callable) -> Partitioned:
        def build(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
            return decorator(partitions_def=partitions, **kwargs)(fn)

        build.__name__ = build.__qualname__ = fn.__name__
        build.__doc__ = fn.__doc__
        return build

    return wrap
