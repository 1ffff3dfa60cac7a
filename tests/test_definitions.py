import dagster as dg

from pipeline.contracts.schema import ENTITIES


def test_definitions_load_with_the_expected_graph(dbt_manifest):
    from pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {f"raw/{e}" for e in ENTITIES} <= keys
    assert {"staging/stg_raw__orders", "intermediate/int_orders", "marts/fct_customer", "marts/customer_grades"} <= keys
    assert graph.get(dg.AssetKey(["raw", "orders"])).group_name == "ingest"
    assert graph.get(dg.AssetKey(["marts", "customer_grades"])).group_name == "grading"
    assert dg.AssetKey(["raw", "orders"]) in graph.get(dg.AssetKey(["staging", "stg_raw__orders"])).parent_keys
    assert defs.get_job_def("crmgrade_all") is not None
