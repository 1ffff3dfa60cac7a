"""The job every trigger runs: all assets, one run at a time per warehouse (DuckDB has one writer)."""

import os
import socket
from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from pipeline.defs.resources import WORKER_HOST_TAG, WORKER_PID_TAG
from pipeline.processes import process_alive
from pipeline.run_lock import other_holder

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
    """The job's runs not finished. A started run whose process on this machine is gone (kill -9, a crash, the
    machine restarted) is marked failed first, with why: else it stays STARTED and every tick skips for good."""
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=JOB_NAME, statuses=_ACTIVE), limit=5)
    active = []
    for run in runs:
        if gone := _worker_gone(run):
            instance.report_run_failed(run, gone)
        else:
            active.append(run.run_id)
    return active


def _worker_gone(run: dg.DagsterRun) -> str | None:
    """Why the run cannot be going on any more, or None when it may be (or we cannot tell)."""
    pid, host = run.tags.get(WORKER_PID_TAG), run.tags.get(WORKER_HOST_TAG)
    if run.status != dg.DagsterRunStatus.STARTED or not pid or host != socket.gethostname():
        return None
    if not pid.isdigit() or process_alive(int(pid)):
        return None
    return (
        f"crmgrade: the process running this run ({pid} on {host}) is gone (killed, crashed or the machine "
        "restarted): marked failed so that the schedule and the new-files sensor run again"
    )


def active_run_in_dagster_home() -> str | None:
    """The id of a run of the job Dagster (the daemon, the UI) has not finished, in the instance of
    $DAGSTER_HOME; None without one. Those runs do not hold the run lock, so a command that writes the warehouse
    outside a run (`crmgrade erase`) asks here too."""
    home = os.environ.get("DAGSTER_HOME")
    if not home or not os.path.isdir(home):  # no instance there yet: no run either (`make test` sets it unmade)
        return None
    with dg.DagsterInstance.get() as instance:
        active = active_run_ids(instance)
    return active[0] if active else None


def why_not_now(instance: dg.DagsterInstance, warehouse: Path) -> str | None:
    """Why a trigger (the schedule, the new-files sensor) must not start a run now: a run of the job not finished,
    or another process holding the warehouse's run lock (`crmgrade erase`, `crmgrade run`); None when it may."""
    if active := active_run_ids(instance):
        return f"run {active[0]} is still active; the warehouse has one writer"
    if holder := other_holder(warehouse):
        return f"{holder} holds the warehouse; the warehouse has one writer"
    return None
