"""The nightly run: crmgrade.yml operations.schedule (cron in the business time zone)."""

import dagster as dg

from pipeline.config import Settings
from pipeline.defs.automation.jobs import JOB_NAME, active_run_ids
from pipeline.defs.partitions import partition_key
from pipeline.run_lock import other_holder


def nightly_schedule(settings: Settings) -> dg.ScheduleDefinition:
    cfg = settings.operations.schedule

    @dg.schedule(
        name="nightly",
        job_name=JOB_NAME,
        cron_schedule=cfg.cron,
        execution_timezone=settings.schedule_timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING if cfg.enabled else dg.DefaultScheduleStatus.STOPPED,
        description=f"Every asset at '{cfg.cron}' ({settings.schedule_timezone}); skipped while a run is active.",
    )
    def _nightly(context: dg.ScheduleEvaluationContext):
        active = active_run_ids(context.instance)
        if active:
            return dg.SkipReason(f"run {active[0]} is still active; the warehouse has one writer")
        if holder := other_holder(settings.warehouse):
            return dg.SkipReason(f"{holder} holds the warehouse; the warehouse has one writer")
        # the tick's day in the business time zone: a nightly run grades as of today, from yesterday's data,
        # whatever as_of_date crmgrade.yml fixes for runs by hand
        as_of = settings.business_date(context.scheduled_execution_time)
        return dg.RunRequest(
            run_key=f"nightly-{as_of}",
            partition_key=partition_key(as_of),
            tags={"crmgrade/trigger": "schedule"},
        )

    return _nightly
