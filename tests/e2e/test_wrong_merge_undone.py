"""A wrong merge undone: a corrected registry file merges two customers, `crmgrade identity unmerge` splits them,
the next run gives both their keys back and tags their grade migrations `identity`."""

import shutil

import dagster as dg
import polars as pl
import pytest

from pipeline.cli import main
from tests.conftest import write_run_config
from tests.e2e.pipeline_runs import materialize, query

pytestmark = pytest.mark.slow

NEXT_DAY = "2026-07-02"  # the first run graded DEMO_AS_OF, 2026-07-01
LINKS = "select source_name, source_file, source_row_number, customer_key from identity.record_links"
# two graded customers with one registry row each, carrying a member number and a phone
REGISTERED = """with registry as (
        select l.customer_key, r._source_file as file, r._row_number as row_number
        from raw.customers r
        join identity.record_links l
            on l.source_name = r._source and l.source_file = r._source_file and l.source_row_number = r._row_number
        where r._source = 'members' and r.member_id is not null and r.phone is not null
    )
    select customer_key, any_value(file), any_value(row_number) from registry
    where customer_key in (select customer_key from marts.customer_grades)
    group by customer_key having count(*) = 1
    order by customer_key limit 2"""


def _links(warehouse) -> dict[tuple, str]:
    return {tuple(row[:3]): row[3] for row in query(warehouse, LINKS)}


def test_an_unmerge_restores_both_customers_and_tags_their_migrations_identity(first_run, tmp_path, capsys):
    sources = tmp_path / "sources"
    shutil.copytree(first_run.sources, sources, ignore=shutil.ignore_patterns("truth"))
    config, warehouse = write_run_config(tmp_path, sources, as_of_date=NEXT_DAY)
    shutil.copy(first_run.warehouse, warehouse)
    before = _links(warehouse)
    (first_key, first_file, first_row), (second_key, second_file, second_row) = query(warehouse, REGISTERED)
    # the registry delivers a corrected row: the first customer's registration with the second one's mobile
    first = pl.read_csv(sources / first_file, infer_schema=False)
    second = pl.read_csv(sources / second_file, infer_schema=False)
    bridge = first.slice(first_row - 2, 1).with_columns(mobile=pl.lit(second["mobile"][second_row - 2]))
    bridge.write_csv(sources / "registry" / "zz_corrections.csv")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRMGRADE_WAREHOUSE", str(warehouse))
        assert materialize(config, warehouse, dg.AssetSelection.groups("ingest", "validate", "identity")).success
        merged = _links(warehouse)
        assert merged[("members", first_file, first_row)] == merged[("members", second_file, second_row)]
        [(retired, successor)] = query(
            warehouse, "select customer_key, other_key from identity.merges where event = 'merge'"
        )
        assert {retired, successor} == {first_key, second_key}

        assert main(["identity", "unmerge", retired, "--reason", "two people", "--config", str(config)]) == 0
        assert f"{retired} (merged into {successor}" in capsys.readouterr().out
        graded = (
            dg.AssetSelection.assets(["monitoring", "grade_migrations"]).upstream().required_multi_asset_neighbors()
        )
        assert materialize(config, warehouse, graded).success

    after = _links(warehouse)
    # every record of the first run has its first key again, the two customers' included
    assert {record: after[record] for record in before} == before
    assert query(warehouse, f"select retired_run_id from identity.customer_keys where customer_key = '{retired}'") == [
        (None,)
    ]
    assert query(warehouse, "select event, customer_key, other_key from identity.merges order by run_seq") == [
        ("merge", retired, successor),
        ("unmerge", retired, successor),
    ]
    runs = query(warehouse, "select mode, mode_reason, unmerges, kept_apart from identity.runs order by resolved_at")
    assert runs[-1] == ("full", "1 unmerge or never-link pair(s) wait to be applied", 1, 1)
    # both are graded on the next day, and their moves since the first day are the ones tagged identity
    assert query(
        warehouse,
        f"""select count(*) from history.grade_history
        where as_of_date = '{NEXT_DAY}' and customer_key in ('{retired}', '{successor}')""",
    ) == [(2,)]
    causes = dict(
        query(
            warehouse,
            f"""select cause, sum(customers) from monitoring.grade_migrations
            where as_of_date = '{NEXT_DAY}' and horizon = 'previous' and dimension = 'grade' group by cause""",
        )
    )
    assert causes.pop("identity") == 2
    assert set(causes) == {"behaviour"}  # everybody else: the same data, one day on
