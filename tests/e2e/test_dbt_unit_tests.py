"""Every dbt unit test, run once here: production builds leave them out (they test the SQL, not a night's data).

dbt needs the relations a unit test's inputs name to exist (it reads their columns), so they run on a copy of
the shared first run's warehouse.
"""

import json
import os
import subprocess

import duckdb
import pytest

from pipeline.defs.dbt.project import DBT_EXECUTABLE, DBT_PROJECT_DIR, PRODUCTION_SELECTION, dbt_resource
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


def test_production_builds_leave_the_unit_tests_out(first_run, dbt_manifest, tmp_path):
    # what the production selection picks, asked of dbt itself (`dbt ls` with the dbt asset's arguments)
    listed = subprocess.run(
        [DBT_EXECUTABLE, "ls", *PRODUCTION_SELECTION, "--output", "json", "--output-keys", "unique_id", "-q"],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "DBT_TARGET_PATH": str(tmp_path / "target")},
        capture_output=True,
        text=True,
        check=True,
    )
    selected = {json.loads(line)["unique_id"] for line in listed.stdout.splitlines() if line.startswith("{")}
    manifest = json.loads(dbt_manifest.read_text(encoding="utf-8"))
    assert selected and not {n for n in selected if n.startswith("unit_test.")}
    assert {n for n in manifest["nodes"] if n.startswith(("model.", "test.", "seed."))} <= selected
    # and the first run, a production build, reported its data tests
    tested = {str(c.metadata["unique_id"].value) for c in first_run.check_evaluations() if "unique_id" in c.metadata}
    assert {n for n in tested if n.startswith("test.")}


def test_a_models_row_rules_are_one_test_that_names_each_broken_rule(first_run, tmp_path):
    # one dbt node for all of fct_customer's rules (and one for its required columns), each failing row of the
    # test's result naming a rule or column and how many rows break it
    copy = warehouse_copy(first_run.warehouse, tmp_path)
    con = duckdb.connect(str(copy))
    try:
        [(broken,)] = con.execute(
            "update marts.fct_customer set record_count = 0, lifecycle_stage = null"
            " where customer_key in (select customer_key from marts.fct_customer order by customer_key limit 2)"
        ).fetchall()
    finally:
        con.close()
    assert broken == 2
    tests = ["expressions_are_true_fct_customer", "not_null_columns_fct_customer"]
    mp = pytest.MonkeyPatch()
    mp.setenv("CRMGRADE_WAREHOUSE", str(copy))
    mp.delenv("CRMGRADE_RUN_ID", raising=False)
    try:
        invocation = dbt_resource().cli(
            ["test", "--select", " ".join(tests), "--store-failures", "--vars", json.dumps(dbt_test_vars())],
            target_path=tmp_path / "target",
            raise_on_error=False,
        )
        invocation.wait()
    finally:
        mp.undo()
    assert not invocation.is_successful()
    con = duckdb.connect(str(copy), read_only=True)
    try:
        stored = dict(
            con.execute(
                "select table_name, table_schema || '.' || table_name from information_schema.tables"
                " where table_name in (?, ?)",
                tests,
            ).fetchall()
        )
        rules = con.execute(f"select expression, failing_rows from {stored[tests[0]]}").fetchall()
        nulls = con.execute(f"select column_name, null_rows from {stored[tests[1]]}").fetchall()
    finally:
        con.close()
    assert rules == [("record_count >= 1", 2)]
    assert nulls == [("lifecycle_stage", 2)]
