"""Every dbt unit test, run once here: production builds leave them out (they test the SQL, not a night's data).

dbt needs the relations a unit test's inputs name to exist (it reads their columns), so they run on a copy of
the shared first run's warehouse.
"""

import json

import pytest

from pipeline.dbt_project import DBT_PROJECT_DIR
from tests.conftest import dbt_test_vars
from tests.e2e.pipeline_runs import dbt_on, warehouse_copy

pytestmark = pytest.mark.slow


def test_every_dbt_unit_test_passes(first_run, dbt_manifest, tmp_path):
    copy = warehouse_copy(first_run.warehouse, tmp_path)
    dbt_on(copy, tmp_path, ["test", "--select", "test_type:unit", "--vars", json.dumps(dbt_test_vars())])
    results = json.loads((tmp_path / "target" / "run_results.json").read_text(encoding="utf-8"))["results"]
    unit_tests = json.loads(dbt_manifest.read_text(encoding="utf-8"))["unit_tests"]
    assert {r["unique_id"] for r in results} == set(unit_tests)
    assert {r["status"] for r in results} == {"pass"}


def test_production_builds_leave_the_unit_tests_out(first_run):
    # the first run is a production build: each dbt step keeps its run_results.json (pipeline/dbt_project.py)
    # (under target/pytest-<worker>/ in the test workers, and the first run is built by either of them)
    pattern = f"**/crmgrade_dbt_assets*-{first_run.run_id[:7]}-*/run_results.json"
    kept = list((DBT_PROJECT_DIR / "target").glob(pattern))
    assert len(kept) == 4  # the steps Dagster splits the dbt multi-asset into
    nodes = [r["unique_id"] for f in kept for r in json.loads(f.read_text(encoding="utf-8"))["results"]]
    assert any(n.startswith("test.") for n in nodes) and any(n.startswith("model.") for n in nodes)
    assert not [n for n in nodes if n.startswith("unit_test.")]
