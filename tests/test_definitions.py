import dagster as dg

from pipeline.contracts.schema import ENTITIES
from pipeline.warehouse_schemas import BY_NAME


def test_definitions_load_with_the_expected_graph(dbt_manifest):
    from pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {f"raw/{e}" for e in ENTITIES} <= keys
    marts = {f"marts/{m}" for m in ("dim_customer", "fct_customer", "fct_orders", "fct_interactions", "fct_service")}
    grading = {"marts/customer_grades", "tags/customer_tags", "grading_spec/dimensions"}
    assert {"staging/stg_raw__orders", "intermediate/int_orders", *grading, *marts} <= keys
    # every dbt model is an asset, its tests are asset checks
    fct_customer = dg.AssetKey(["marts", "fct_customer"])
    checks = {c.name for c in graph.asset_check_keys if c.asset_key == fct_customer}
    assert {
        "not_null_columns_fct_customer",
        "accepted_values_fct_customer_lifecycle_stage__customer__prospect__contact",
    } <= checks
    assert (
        dg.AssetKey(["identity", "record_links"])
        in graph.get(dg.AssetKey(["staging", "stg_identity__record_links"])).parent_keys
    )
    assert dg.AssetKey(["raw", "orders"]) in graph.get(dg.AssetKey(["staging", "stg_raw__orders"])).parent_keys
    assert defs.get_job_def("crmgrade_all") is not None
    assert defs.get_schedule_def("nightly").job_name == "crmgrade_all"
    assert defs.get_sensor_def("new_source_files").job_name == "crmgrade_all"
    # the groups are the warehouse's schemas, for the Python assets and the dbt models alike
    groups: dict[str, set[str]] = {}
    for key in graph.get_all_asset_keys():
        groups.setdefault(graph.get(key).group_name, set()).add(key.path[0])
    assert all({group} == schemas for group, schemas in groups.items()), groups
    assert {"raw", "dq", "identity", "staging", "intermediate", "marts", "clv", "bi", "serving"} <= set(groups)
    assert set(groups) <= set(BY_NAME), set(groups) - set(BY_NAME)  # each one registered in warehouse_schemas.py
    # serving comes after dbt: what it publishes is the bi models
    published = graph.get(dg.AssetKey(["serving", "published"]))
    assert dg.AssetKey(["bi", "customer_grades"]) in published.parent_keys


def test_code_location_loads_under_dagster_dev_without_an_activated_venv(tmp_path):
    """`dagster dev` (DAGSTER_IS_DEV_CLI) parses dbt on load; it must find the venv's dbt, not one on PATH."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DAGSTER_IS_DEV_CLI": "1", "PATH": "/usr/bin:/bin", "DAGSTER_HOME": str(tmp_path)}
    # its parse has no vars: in its own dbt target, so this worker's runs keep their partial-parse state
    env["DBT_TARGET_PATH"] = str(tmp_path / "target")
    code = "from pipeline.definitions import defs; print(len(defs.resolve_asset_graph().get_all_asset_keys()))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip().splitlines()[-1]) > len(ENTITIES)


def test_dbt_runs_in_two_steps_both_after_identity(dbt_manifest):
    # each dbt step is a dbt process (seconds before its first node): every dbt node is ordered after identity, so
    # the seeds and staging views, which read none of it, get no step of their own ahead of it
    from dagster._core.definitions.dependency import NodeHandle

    from pipeline.definitions import defs
    from pipeline.defs.automation.jobs import JOB_NAME

    job = defs.get_job_def(JOB_NAME)
    steps = [
        {key.to_user_string() for key in job.asset_layer.get_selected_entity_keys_for_node(NodeHandle(node.name, None))}
        for node in job.graph.nodes
        if node.definition.name == "crmgrade_dbt_assets"
    ]
    assert len(steps) == 2
    [first] = [keys for keys in steps if "reference/rfm_segments_cn" in keys]
    assert {"staging/stg_raw__orders", "marts/fct_customer", "marts/customer_grades"} <= first
    [second] = [keys for keys in steps if keys is not first]
    # after the Python steps that read the marts: what reads their tables (CLV, tags, the backtests)
    assert {"history/grade_history", "bi/customer_clv", "bi/backtest_scores"} <= second
    graph = defs.resolve_asset_graph()
    identity = dg.AssetKey(["identity", "record_links"])
    assert identity in graph.get(dg.AssetKey(["reference", "rfm_segments_cn"])).parent_keys
    # a selection of what the seeds read can be run on its own (tests/e2e/test_identity_keys.py selects upstream)
    seeds_upstream = (
        dg.AssetSelection.assets(dg.AssetKey(["reference", "rfm_segments_cn"]))
        .upstream()
        .required_multi_asset_neighbors()
    )
    assert dg.define_asset_job("seeds_upstream", seeds_upstream).resolve(asset_graph=defs.resolve_asset_graph())
    fct_customer = dg.AssetKey(["marts", "fct_customer"])
    checks = {c.name for c in defs.resolve_asset_graph().asset_check_keys if c.asset_key == fct_customer}
    assert "expressions_are_true_fct_customer" in checks
