"""A warehouse held by another process is a transient failure: the step asks Dagster to retry it later."""

import json
import subprocess
import sys

import dagster as dg
import duckdb
import pytest

from pipeline.defs.resources import DuckDBWarehouse
from pipeline.defs.retries import MAX_RETRIES, is_transient, retry_if_transient
from tests.conftest import dbt_test_vars


@pytest.fixture
def held_warehouse(tmp_path):
    """A DuckDB file another process has open (as a BI tool would), for as long as the test runs."""
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('open', flush=True); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "open"
    yield path
    holder.kill()
    holder.wait()


def test_a_held_warehouse_makes_the_step_retry(held_warehouse):
    with pytest.raises(dg.RetryRequested) as info, DuckDBWarehouse(path=str(held_warehouse)).connect():
        pass
    assert info.value.max_retries == MAX_RETRIES and info.value.seconds_to_wait > 0


def test_dbt_failing_on_the_held_warehouse_is_transient_and_a_failed_model_is_not(
    held_warehouse, dbt_manifest, monkeypatch, tmp_path
):
    from dagster_dbt.errors import DagsterDbtCliRuntimeError

    from pipeline.defs.dbt.project import dbt_resource

    monkeypatch.setenv("CRMGRADE_WAREHOUSE", str(held_warehouse))
    monkeypatch.setenv("CRMGRADE_DBT_CONNECT_ATTEMPTS", "1")  # no waiting inside dbt
    vars_ = json.dumps(dbt_test_vars())  # the manifest's vars: dbt parses partially
    with pytest.raises(DagsterDbtCliRuntimeError) as info:
        dbt_resource().cli(
            ["run", "--vars", vars_, "--select", "stg_clv__model_params"], target_path=tmp_path / "t"
        ).wait()
    assert is_transient(str(info.value)), str(info.value)[:2000]
    with pytest.raises(dg.RetryRequested):
        retry_if_transient(info.value)
    # what a failed test or a broken model says is not transient: retry_if_transient lets it through
    retry_if_transient(RuntimeError("Failure in test not_null_customer_grades_grade"))
