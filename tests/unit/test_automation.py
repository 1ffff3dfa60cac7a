"""The nightly schedule and the new-files sensor, evaluated with Dagster's test utilities."""

import os
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from pipeline.config import load_settings
from pipeline.defs.automation.jobs import JOB_NAME
from pipeline.defs.automation.schedules import nightly_schedule
from pipeline.defs.automation.sensors import new_files_sensor
from pipeline.defs.resources import CrmgradeSettings
from tests.conftest import write_run_config


@pytest.fixture(scope="module")
def defs(dbt_manifest):
    """The code location (its job's partitions check a run request's partition key); needs the dbt manifest."""
    from pipeline.definitions import defs

    return defs


@pytest.fixture
def setup(tmp_path: Path):
    sources = tmp_path / "sources"
    (sources / "marketplaces" / "jd").mkdir(parents=True)
    config, _ = write_run_config(tmp_path, sources)
    return config, sources


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:  # a real (temporary) instance: schedules need its reference
        yield instance


def _old_file(path: Path, text: str = "x") -> Path:
    """A file written ten minutes ago: past the settle time."""
    path.write_text(text, encoding="utf-8")
    past = time.time() - 600
    os.utime(path, (past, past))
    return path


def _tick(config: Path, instance: dg.DagsterInstance, cursor: str | None, defs: dg.Definitions):
    sensor = new_files_sensor(load_settings(config))
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"settings": CrmgradeSettings(config_file=str(config))},
        definitions=defs,  # the job's partitions, to check the run request's partition key
    )
    return sensor.evaluate_tick(context)


def test_a_new_file_starts_a_run_once_and_a_changed_or_added_file_again(setup, instance, defs):
    config, sources = setup
    empty = _tick(config, instance, None, defs)
    assert not empty.run_requests and "no source files" in empty.skip_message
    _old_file(sources / "marketplaces" / "jd" / "jd_order_lines_202606.csv")
    new = _tick(config, instance, None, defs)  # no cursor yet: what is there may never have been ingested
    assert len(new.run_requests) == 1 and new.cursor
    assert new.run_requests[0].tags["crmgrade/trigger"] == "new_files"
    assert new.run_requests[0].partition_key == "2026-07-01"  # the config's as-of date (today when it has none)
    again = _tick(config, instance, new.cursor, defs)
    assert not again.run_requests and "no new or changed files" in again.skip_message
    _old_file(sources / "marketplaces" / "jd" / "jd_order_lines_202606.csv", "changed")
    changed = _tick(config, instance, new.cursor, defs)
    assert len(changed.run_requests) == 1 and changed.run_requests[0].run_key != new.run_requests[0].run_key
    # a file no contract matches is not a source file
    _old_file(sources / "notes.txt")
    assert not _tick(config, instance, changed.cursor, defs).run_requests


def test_a_file_still_being_written_waits_for_the_next_tick(setup, instance, defs):
    config, sources = setup
    _old_file(sources / "marketplaces" / "jd" / "jd_order_lines_202606.csv")
    baseline = _tick(config, instance, None, defs).cursor
    (sources / "marketplaces" / "jd" / "jd_order_lines_202607.csv").write_text("half a file", encoding="utf-8")
    waiting = _tick(config, instance, baseline, defs)
    assert not waiting.run_requests and "still being written" in waiting.skip_message
    assert waiting.cursor in (None, baseline)  # nothing recorded: the next tick sees the file as new


def _nightly_tick(config, instance, defs):
    """The nightly schedule evaluated at 02:00 on 2026-11-24 in the business time zone."""
    schedule = nightly_schedule(load_settings(config))
    tick = datetime(2026, 11, 24, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    return schedule.evaluate_tick(
        dg.build_schedule_context(
            instance=instance, scheduled_execution_time=tick, repository_def=defs.get_repository_def()
        )
    )


def test_no_second_run_while_one_is_active(setup, instance, defs):
    config, sources = setup
    instance.add_run(dg.DagsterRun(job_name=JOB_NAME, run_id="r-active", status=dg.DagsterRunStatus.STARTED))
    _old_file(sources / "marketplaces" / "jd" / "jd_order_lines_202606.csv")
    result = _tick(config, instance, "earlier", defs)
    assert not result.run_requests and "r-active" in result.skip_message
    skipped = _nightly_tick(config, instance, defs)
    assert not skipped.run_requests and "r-active" in skipped.skip_message


def test_no_run_is_triggered_while_an_erasure_holds_the_warehouse(setup, instance, defs):
    """Runs Dagster starts do not take the run lock (pipeline/run_lock.py): they skip while `crmgrade erase` (or
    `crmgrade run`) in another process holds it."""
    import subprocess
    import sys

    config, sources = setup
    warehouse = load_settings(config).warehouse
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from pipeline.run_lock import exclusive_run\n"
            f"with exclusive_run(Path({str(warehouse)!r}), 'crmgrade erase'):\n"
            "    print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        _old_file(sources / "marketplaces" / "jd" / "jd_order_lines_202606.csv")
        result = _tick(config, instance, "earlier", defs)
        assert not result.run_requests and "crmgrade erase, process" in result.skip_message
        skipped = _nightly_tick(config, instance, defs)
        assert not skipped.run_requests and "crmgrade erase, process" in skipped.skip_message
    finally:
        holder.communicate("")
    assert _tick(config, instance, "earlier", defs).run_requests  # released: the next tick runs


def test_a_run_whose_process_is_gone_is_marked_failed_and_no_longer_holds_the_triggers(setup, instance, defs):
    import socket
    import subprocess
    import sys

    from pipeline.defs.resources import WORKER_HOST_TAG, WORKER_PID_TAG

    config, sources = setup
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    tags = {WORKER_PID_TAG: dead.stdout.strip(), WORKER_HOST_TAG: socket.gethostname()}
    instance.add_run(dg.DagsterRun(job_name=JOB_NAME, run_id="r-killed", status=dg.DagsterRunStatus.STARTED, tags=tags))
    # one still going (this process), and one of another machine, which cannot be told: both still hold
    alive = {WORKER_PID_TAG: str(os.getpid()), WORKER_HOST_TAG: socket.gethostname()}
    instance.add_run(dg.DagsterRun(job_name=JOB_NAME, run_id="r-alive", status=dg.DagsterRunStatus.STARTED, tags=alive))
    _old_file(sources / "marketplaces" / "jd" / "jd_order_lines_202606.csv")
    result = _tick(config, instance, "earlier", defs)
    assert not result.run_requests and "r-alive" in result.skip_message
    killed = instance.get_run_by_id("r-killed")
    assert killed.status == dg.DagsterRunStatus.FAILURE
    failure = instance.all_logs("r-killed", of_type=dg.DagsterEventType.RUN_FAILURE)[0]
    assert f"the process running this run ({tags[WORKER_PID_TAG]} on {socket.gethostname()}) is gone" in (
        failure.message or failure.dagster_event.message
    )
    instance.report_run_failed(instance.get_run_by_id("r-alive"))  # it ends: the next tick runs
    assert _tick(config, instance, "earlier", defs).run_requests


def test_a_run_is_tagged_with_the_process_running_it(setup, instance):
    from pipeline.defs.resources import WORKER_HOST_TAG, WORKER_PID_TAG

    config, _ = setup

    @dg.asset
    def touched(settings: CrmgradeSettings) -> None:
        pass

    result = dg.materialize(
        [touched], instance=instance, resources={"settings": CrmgradeSettings(config_file=str(config))}
    )
    tags = instance.get_run_by_id(result.run_id).tags
    assert tags[WORKER_PID_TAG] == str(os.getpid()) and WORKER_HOST_TAG in tags


def test_the_nightly_schedule_runs_at_the_configured_time_and_zone(setup, instance, defs, tmp_path):
    config, _ = setup
    schedule = nightly_schedule(load_settings(config))
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "Asia/Shanghai")
    assert schedule.job_name == JOB_NAME
    tick = datetime(2026, 11, 24, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=tick, repository_def=defs.get_repository_def()
    )
    requests = schedule.evaluate_tick(context).run_requests
    assert [(r.run_key, r.tags["crmgrade/trigger"]) for r in requests] == [("nightly-2026-11-24", "schedule")]
    assert requests[0].partition_key == "2026-11-24"  # the as-of date the run grades: the tick's day
    # configurable: another time and zone
    other = tmp_path / "other.yml"
    other.write_text(
        config.read_text(encoding="utf-8")
        + "operations:\n  schedule: {cron: '30 3 * * 1-5', timezone: Europe/Berlin}\n"
        + "  new_files_sensor: {enabled: false, minimum_interval_seconds: 300}\n",
        encoding="utf-8",
    )
    settings = load_settings(other)
    schedule = nightly_schedule(settings)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 3 * * 1-5", "Europe/Berlin")
    sensor = new_files_sensor(settings)
    assert sensor.minimum_interval_seconds == 300
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED


def test_files_ingest_already_judged_start_no_run_even_without_a_cursor(setup, instance, defs):
    from pipeline.ingest.judged_files import fingerprint, judged_files, record_judged_files

    config, sources = setup
    warehouse = load_settings(config).warehouse
    warehouse.touch()  # what it holds is not read: the sensor never opens it
    june = _old_file(sources / "marketplaces" / "jd" / "jd_order_lines_202606.csv")
    rel = june.relative_to(sources).as_posix()
    record_judged_files(warehouse, "jd", "orders", [(rel, fingerprint(june))])
    record_judged_files(warehouse, "tmall", "orders", [("marketplaces/tmall/a.csv", (1, 2))])
    quiet = _tick(config, instance, None, defs)
    assert not quiet.run_requests
    assert quiet.skip_message == "all 1 source files are ingested as they are now; nothing to run"
    # the same name with other content, and a new file: a run, naming both as not judged
    _old_file(june, "changed")
    _old_file(sources / "marketplaces" / "jd" / "jd_order_lines_202607.csv")
    [request] = _tick(config, instance, quiet.cursor, defs).run_requests
    assert request.tags["crmgrade/new_or_changed_files"] == "2"
    # a deleted warehouse has judged nothing, whatever is left beside it
    july = sources / "marketplaces" / "jd" / "jd_order_lines_202607.csv"
    record_judged_files(
        warehouse, "jd", "orders", [(rel, fingerprint(june)), (f"marketplaces/jd/{july.name}", fingerprint(july))]
    )
    assert not _tick(config, instance, None, defs).run_requests
    warehouse.unlink()
    assert _tick(config, instance, None, defs).run_requests
    warehouse.touch()
    # a source's entries are replaced as a whole by its next ingest; the other sources' stay
    record_judged_files(warehouse, "jd", "orders", [("marketplaces/jd/jd_order_lines_202607.csv", (5, 6))])
    assert judged_files(warehouse) == {
        "jd\torders\tmarketplaces/jd/jd_order_lines_202607.csv": (5, 6),
        "tmall\torders\tmarketplaces/tmall/a.csv": (1, 2),
    }
