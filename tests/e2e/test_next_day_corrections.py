"""The day after the first run, with everything that makes grades hard to trust over time, in one run: a corrected
registry file merges two customers (undone by `crmgrade identity unmerge`), the stores deliver every receipt
again with corrected prices, and the live grading spec changes. Then: both customers get their keys back, each
grade migration is tagged with its cause, and `crmgrade regrade` grades the first day again from its data as it
stood, reproducing its stored grades exactly under its spec and showing what the new spec would have given."""

import contextlib
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from pipeline.cli import main
from pipeline.grading.variant import GRADED_SELECT as COLUMNS
from pipeline.grading.versions import spec_files, version_of
from tests.conftest import DEMO_AS_OF, REPO, write_run_config
from tests.e2e.pipeline_runs import materialize, query, stricter_a_spec

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
STORED = f"select {COLUMNS} from history.grade_history where as_of_date = '{DEMO_AS_OF}'"


@dataclass(frozen=True)
class NextDay:
    config: Path
    warehouse: Path
    links_before: dict[tuple, str]
    retired: str
    successor: str
    unmerge_said: str
    first_version: str
    second_version: str
    first_day_grades: list[tuple]
    served: list[tuple]  # marts.customer_grades after the next day's run


def _links(warehouse) -> dict[tuple, str]:
    return {tuple(row[:3]): row[3] for row in query(warehouse, LINKS)}


@pytest.fixture(scope="module")
def next_day(first_run, tmp_path_factory) -> NextDay:
    folder = tmp_path_factory.mktemp("next_day")
    sources = folder / "sources"
    shutil.copytree(first_run.sources, sources, ignore=shutil.ignore_patterns("truth"))
    config, warehouse = write_run_config(folder, sources, as_of_date=NEXT_DAY)
    shutil.copy(first_run.warehouse, warehouse)
    before = _links(warehouse)
    first_day_grades = query(warehouse, f"{STORED} order by customer_key")
    (first_key, first_file, first_row), (second_key, second_file, second_row) = query(warehouse, REGISTERED)
    # the registry delivers a corrected row: the first customer's registration with the second one's mobile
    first = pl.read_csv(sources / first_file, infer_schema=False)
    second = pl.read_csv(sources / second_file, infer_schema=False)
    bridge = first.slice(first_row - 2, 1).with_columns(mobile=pl.lit(second["mobile"][second_row - 2]))
    bridge.write_csv(sources / "registry" / "zz_corrections.csv")
    # the stores deliver every receipt again with corrected prices: orders before the first day change
    for file in sorted((sources / "stores").glob("*.csv")):
        receipts = pl.read_csv(file, infer_schema=False)
        receipts.with_columns(unit_price=(pl.col("unit_price").cast(pl.Float64) * 3).round(2)).write_csv(file)
    # and the live spec changes: A now needs a weighted score of 4.5
    edited = stricter_a_spec(folder / "grading.yml")
    config.write_text(config.read_text(encoding="utf-8") + f"grading: {edited}\n", encoding="utf-8")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRMGRADE_WAREHOUSE", str(warehouse))
        assert materialize(config, warehouse, dg.AssetSelection.groups("raw", "dq", "identity")).success
        merged = _links(warehouse)
        assert merged[("members", first_file, first_row)] == merged[("members", second_file, second_row)]
        [(retired, successor)] = query(
            warehouse, "select customer_key, other_key from identity.merges where event = 'merge'"
        )
        assert {retired, successor} == {first_key, second_key}
        said = io.StringIO()
        with contextlib.redirect_stdout(said):
            assert main(["identity", "unmerge", retired, "--reason", "two people", "--config", str(config)]) == 0
        graded = (
            dg.AssetSelection.assets(["monitoring", "grade_migrations"]).upstream().required_multi_asset_neighbors()
        )
        assert materialize(config, warehouse, graded).success
        yield NextDay(
            config=config,
            warehouse=warehouse,
            links_before=before,
            retired=retired,
            successor=successor,
            unmerge_said=said.getvalue(),
            first_version=version_of(spec_files(REPO / "grading.yml", REPO / "rules.yml")).version,
            second_version=version_of(spec_files(edited, REPO / "rules.yml")).version,
            first_day_grades=first_day_grades,
            served=query(warehouse, "select * from marts.customer_grades order by customer_key"),
        )


def test_an_unmerge_restores_both_customers_with_their_keys(next_day):
    warehouse, retired, successor = next_day.warehouse, next_day.retired, next_day.successor
    assert f"{retired} (merged into {successor}" in next_day.unmerge_said
    after = _links(warehouse)
    # every record of the first run has its first key again, the two customers' included
    assert {record: after[record] for record in next_day.links_before} == next_day.links_before
    assert query(warehouse, f"select retired_run_id from identity.customer_keys where customer_key = '{retired}'") == [
        (None,)
    ]
    assert query(warehouse, "select event, customer_key, other_key from identity.merges order by run_seq") == [
        ("merge", retired, successor),
        ("unmerge", retired, successor),
    ]
    runs = query(warehouse, "select mode, mode_reason, unmerges, kept_apart from identity.runs order by resolved_at")
    assert runs[-1] == ("full", "1 unmerge or never-link pair(s) wait to be applied", 1, 1)
    assert query(
        warehouse,
        f"""select count(*) from history.grade_history
        where as_of_date = '{NEXT_DAY}' and customer_key in ('{retired}', '{successor}')""",
    ) == [(2,)]


def test_each_grade_migration_is_tagged_with_its_cause(next_day):
    warehouse, pair = next_day.warehouse, f"('{next_day.retired}', '{next_day.successor}')"
    causes = dict(
        query(
            warehouse,
            f"""select cause, sum(customers) from monitoring.grade_migrations
            where as_of_date = '{NEXT_DAY}' and horizon = 'previous' and dimension = 'grade' group by cause""",
        )
    )
    # identity before a data correction before a spec change: the unmerged pair first
    assert causes.pop("identity") == 2
    # then everyone graded with an order in a store file delivered again
    [(store_buyers,)] = query(
        warehouse,
        f"""select count(distinct customer_key) from intermediate.int_order_lines
        where source_name = 'pos' and customer_key not in {pair}
          and customer_key in (select customer_key from history.grade_history
            where as_of_date in ('{DEMO_AS_OF}', '{NEXT_DAY}'))""",
    )
    assert store_buyers > 0 and causes.pop("data_correction") == store_buyers
    # and everyone else was graded under another spec version; nobody's change is put down to behaviour
    assert set(causes) == {"spec_change"}


def _regraded(version: str) -> str:
    return f"""select {COLUMNS} from evaluation.variant_grades
        where as_of_date = '{DEMO_AS_OF}' and spec_version = '{version}' and variant = 'regrade'"""


def _differing(warehouse, left: str, right: str) -> int:
    one_way = "select count(*) from (({}) except all ({}))"
    return sum(query(warehouse, one_way.format(*pair))[0][0] for pair in ((left, right), (right, left)))


def test_a_past_day_is_graded_again_from_its_data_as_it_stood(next_day, capsys):
    config, warehouse = str(next_day.config), next_day.warehouse
    stored = next_day.first_day_grades
    # the corrected prices reach orders the first day graded: the versions it read are closed, not current
    [(corrected,)] = query(
        warehouse,
        f"""select count(*) from history.grading_input_orders as o
        join marts.fct_orders as now using (source_name, order_id)
        where o.dbt_valid_to is not null and o.ordered_at < '{DEMO_AS_OF}' and o.net_amount <> now.net_amount
          and o.customer_key in (select customer_key from ({STORED}))""",
    )
    assert corrected > 0
    assert query(warehouse, "select distinct spec_version from marts.customer_grades") == [(next_day.second_version,)]

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRMGRADE_WAREHOUSE", str(warehouse))
        # the day under the spec it used: the stored grades, every column of every customer
        assert main(["regrade", "--as-of", DEMO_AS_OF, "--config", config]) == 0
        out = capsys.readouterr().out
        assert f"{len(stored):,} customers graded under {next_day.first_version}: identical to the" in out
        assert query(warehouse, f"{_regraded(next_day.first_version)} order by customer_key") == stored
        assert _differing(warehouse, STORED, _regraded(next_day.first_version)) == 0

        # the day under the new spec: exactly its A customers scoring below 4.5 become B
        assert main(["regrade", "--as-of", DEMO_AS_OF, "--spec", next_day.second_version, "--config", config]) == 0
        [(expected,)] = query(warehouse, f"select count(*) from ({STORED}) where grade = 'A' and weighted_score < 4.5")
        assert expected > 0
        moves = query(
            warehouse,
            f"""select s.grade, r.grade, count(*) from ({STORED}) s join ({_regraded(next_day.second_version)}) r
            using (customer_key) where s.grade <> r.grade group by all""",
        )
        assert moves == [("A", "B", expected)]
        assert f"{expected:,} get another grade (A->B {expected:,})" in capsys.readouterr().out

    # neither regrade touched what is served or the history it compares with
    assert query(warehouse, "select * from marts.customer_grades order by customer_key") == next_day.served
    assert query(warehouse, f"{STORED} order by customer_key") == stored
    # a day never graded, and a version never recorded, are refused with the reason
    assert main(["regrade", "--as-of", "2026-05-01", "--config", config]) == 1
    assert "2026-05-01 was never graded" in capsys.readouterr().err
    assert main(["regrade", "--as-of", DEMO_AS_OF, "--spec", "0123456789ab", "--config", config]) == 1
    assert "no grading spec version '0123456789ab'" in capsys.readouterr().err
