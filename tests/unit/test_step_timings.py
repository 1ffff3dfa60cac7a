import json
import time

import dagster as dg
import pytest

from pipeline.defs.step_timings import dbt_node_timings, stage_of, stage_seconds, step_timings, write_timings


@dg.asset(name="orders", key_prefix="raw")
def slow_ingest():
    time.sleep(0.3)


@dg.asset(deps=[slow_ingest], name="published", key_prefix="serving")
def quick_publish():
    pass


def test_each_step_is_timed_from_the_run_events_and_summed_per_stage(tmp_path):
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([slow_ingest, quick_publish], instance=instance)
        timings = step_timings(instance, result.run_id)
    by_step = {t.step: t for t in timings}
    assert set(by_step) == {"raw__orders", "serving__published"}
    ingest, publish = by_step["raw__orders"], by_step["serving__published"]
    assert ingest.stage == "ingest" and publish.stage == "serving" and ingest.succeeded
    assert 0.3 <= ingest.seconds < 5 and publish.seconds < ingest.seconds
    assert publish.started_after_seconds >= ingest.started_after_seconds + ingest.seconds  # one after the other
    assert publish.started_at - ingest.started_at == pytest.approx(
        publish.started_after_seconds - ingest.started_after_seconds, abs=0.01
    )
    assert list(stage_seconds(timings)) == ["ingest", "serving"]  # the slowest first
    path = write_timings(tmp_path / "reports" / "run_timings.json", result.run_id, 1.0, timings)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["run_id"] == result.run_id and len(doc["steps"]) == 2


def test_a_failed_step_is_timed_too_and_every_step_has_a_stage():
    @dg.asset
    def broken():
        raise ValueError("bad input")

    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([broken], instance=instance, raise_on_error=False)
        [timing] = step_timings(instance, result.run_id)
    assert timing.step == "broken" and not timing.succeeded and timing.stage == "other"
    assert stage_of("crmgrade_dbt_assets_3") == "dbt" and stage_of("identity_assets") == "identity"
    assert stage_of("activation__outbox") == "grading"


def test_dbt_node_times_come_from_the_metadata_dagster_dbt_puts_on_its_events(tmp_path):
    # the shape dagster-dbt reports a model and a test in: unique_id and `Execution Duration` in the metadata
    @dg.asset(
        name="fct_customer",
        key_prefix="marts",
        check_specs=[dg.AssetCheckSpec("not_null", asset=dg.AssetKey(["marts", "fct_customer"]))],
    )
    def model():
        yield dg.Output(None, metadata={"unique_id": "model.crmgrade.fct_customer", "Execution Duration": 1.25})
        yield dg.AssetCheckResult(
            check_name="not_null",
            passed=True,
            metadata={"unique_id": "test.crmgrade.not_null.abc", "Execution Duration": 0.5, "status": "pass"},
        )

    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([model, slow_ingest], instance=instance)
        nodes = dbt_node_timings(instance, result.run_id)
        timings = step_timings(instance, result.run_id)
    assert sorted((n.unique_id, n.seconds, n.status) for n in nodes) == [
        ("model.crmgrade.fct_customer", 1.25, ""),
        ("test.crmgrade.not_null.abc", 0.5, "pass"),
    ]  # raw__orders, a Python asset with no dbt metadata, is not a node
    assert {n.step for n in nodes} == {"marts__fct_customer"}
    path = write_timings(tmp_path / "run_timings.json", result.run_id, 1.0, timings, nodes)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert {n["unique_id"] for n in doc["dbt_nodes"]} == {"model.crmgrade.fct_customer", "test.crmgrade.not_null.abc"}
