import json
import traceback
from pathlib import Path

import dagster as dg
import pytest
from filelock import FileLock

from pipeline.defs.dbt.project import prepare_manifest
from pipeline.demo.generator import DemoSpec, generate
from tests.conftest import dbt_test_vars, write_run_config
from tests.e2e.pipeline_runs import RecordedRun, materialize


@pytest.fixture(scope="session")
def first_run(tmp_path_factory, worker_id, dbt_manifest) -> RecordedRun:
    """Every asset materialized once on a small demo set, shared by the test processes: the first to ask builds
    it, the others wait for it (pytest-xdist's recipe for a session fixture run once). Tests copy it."""
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent  # the workers' common folder
    folder = shared / "first_run"
    record = shared / "first_run.json"
    with FileLock(shared / "first_run.lock"):
        if not record.exists():
            record.write_text(json.dumps(_build(folder)), encoding="utf-8")
    built = json.loads(record.read_text(encoding="utf-8"))
    if "error" in built:
        pytest.fail(f"the shared first run failed (in another test process):\n{built['error']}")
    return RecordedRun.from_record(folder, built)


def _build(folder: Path) -> dict:
    try:
        generate(folder / "sources", DemoSpec(customers=400, seed=7), progress=lambda _: None)
        config, warehouse = write_run_config(folder, folder / "sources")
        # an ephemeral instance: one on disk (SQLite) made the run ~35 s slower, writing its ~2,000 events
        with pytest.MonkeyPatch.context() as mp, dg.DagsterInstance.ephemeral() as instance:
            mp.setenv("CRMGRADE_WAREHOUSE", str(warehouse))  # read by the dbt profile
            # as `crmgrade run` does: parsed with the run's profile and vars, each dbt step parses partially
            prepare_manifest(dbt_test_vars())
            result = materialize(config, warehouse, instance=instance, raise_on_error=False)
            failures = [e.step_failure_data.error.to_string() for e in result.all_events if e.is_step_failure]
            if not result.success:
                return {"error": "\n".join(failures) or "the run did not succeed"}
            return RecordedRun.record(result)
    except Exception:
        return {"error": traceback.format_exc()}


@pytest.fixture(scope="module")
def run_env(first_run, tmp_path_factory):
    """The first run copied for one test module: (config, warehouse); the dbt profile points at the copy."""
    config, warehouse = first_run.copy_to(tmp_path_factory.mktemp("run"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRMGRADE_WAREHOUSE", str(warehouse))
        yield config, warehouse
