"""One `crmgrade run` per warehouse (pipeline/run_lock.py): a second stops at once naming the first, and a run
killed with SIGKILL leaves no lock behind."""

import signal
import subprocess
import sys
import textwrap

import pytest

from pipeline.cli import main
from pipeline.run_lock import WarehouseBusy, exclusive_run
from tests.conftest import write_run_config

HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pipeline.run_lock import exclusive_run
    with exclusive_run(Path(sys.argv[1]), what="crmgrade run (test)"):
        print("held", flush=True)
        time.sleep(120)
    """
)


@pytest.fixture
def holder(tmp_path):
    config, warehouse = write_run_config(tmp_path, tmp_path / "sources")
    (tmp_path / "sources").mkdir()
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(warehouse)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    yield config, warehouse, process
    process.kill()
    process.wait()


def test_a_second_run_stops_at_once_and_names_the_first(holder, capsys):
    config, warehouse, process = holder
    assert main(["run", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"{warehouse} is being written by another run (crmgrade run (test), process {process.pid}, since" in err
    assert not warehouse.exists()  # it wrote nothing
    with pytest.raises(WarehouseBusy), exclusive_run(warehouse):
        pass


def test_a_killed_run_leaves_the_warehouse_free(holder):
    _, warehouse, process = holder
    process.send_signal(signal.SIGKILL)
    process.wait()
    with exclusive_run(warehouse):  # the kernel released its lock with the process
        pass
    with exclusive_run(warehouse):  # and released ours on leaving
        pass


def test_an_ingest_step_started_from_dagster_stops_while_another_process_holds_the_warehouse(holder):
    """Runs Dagster starts (the UI, the daemon) do not take the lock; their ingest steps look for its holder (an
    erasure, a `crmgrade run`) and stop naming it, instead of writing beside it."""
    import dagster as dg

    from tests.e2e.pipeline_runs import materialize

    config, warehouse, process = holder
    result = materialize(config, warehouse, selection=[dg.AssetKey(["raw", "orders"])], raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert f"{warehouse} is held by crmgrade run (test), process {process.pid}" in message
    assert not warehouse.exists()  # it wrote nothing
