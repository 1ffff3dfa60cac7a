"""The nightly run: crmgrade.yml operations.schedule (cron in the business time zone)."""

import dagster as dg

from pipeline.config import Settings
from pipeline.defs.automation.jobs import JOB_NAME, why_not_now
from pipeline.defs.partitions import partition_key


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
        if busy := why_not_now(context.instance, settings.warehouse):
            return dg.SkipReason(busy)
        # the tick's day in the business time zone: a nightly run grades as of today, from yesterday's data,
        # whatever as_of_date crmgrade.yml fixes for runs by hand
        as_of = settings.business_date(context.scheduled_execution_time)
        return dg.RunRequest(
            run_key=f"nightly-{as_of}",
            partition_key=partition_key(as_of),
            tags={"crmgrade/trigger": "schedule"},
        )

    return _nightly
