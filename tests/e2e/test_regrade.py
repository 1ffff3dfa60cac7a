"""Regrading a past day: after its data was corrected and the live spec changed, `crmgrade regrade` grades the day
again from its inputs as they stood, under the spec it used (reproducing the stored grades exactly) or another."""

import shutil

import dagster as dg
import polars as pl
import pytest
import yaml

from pipeline.cli import main
from pipeline.grading.regrade import GRADED_COLUMNS
from pipeline.grading.versions import spec_files, version_of
from tests.conftest import DEMO_AS_OF, REPO, write_run_config
from tests.e2e.pipeline_runs import materialize, query

pytestmark = pytest.mark.slow

NEXT_DAY = "2026-07-02"
COLUMNS = ", ".join(GRADED_COLUMNS)
STORED = f"select {COLUMNS} from history.grade_history where as_of_date = '{DEMO_AS_OF}'"


def _regraded(version: str) -> str:
    return f"""select {COLUMNS} from history.regraded_grades
        where as_of_date = '{DEMO_AS_OF}' and spec_version = '{version}'"""


def _differing(warehouse, left: str, right: str) -> int:
    one_way = "select count(*) from (({}) except all ({}))"
    return sum(query(warehouse, one_way.format(*pair))[0][0] for pair in ((left, right), (right, left)))


def test_a_past_day_is_graded_again_from_its_data_as_it_stood(first_run, tmp_path, capsys):
    sources = tmp_path / "sources"
    shutil.copytree(first_run.sources, sources, ignore=shutil.ignore_patterns("truth"))
    config, warehouse = write_run_config(tmp_path, sources, as_of_date=NEXT_DAY)
    shutil.copy(first_run.warehouse, warehouse)
    first_version = version_of(spec_files(REPO / "grading.yml", REPO / "rules.yml")).version
    # the stores deliver every receipt again with corrected prices: orders before the first day change
    for file in sorted((sources / "stores").glob("*.csv")):
        receipts = pl.read_csv(file, infer_schema=False)
        receipts.with_columns(unit_price=(pl.col("unit_price").cast(pl.Float64) * 3).round(2)).write_csv(file)
    # and the live spec changes: A now needs a weighted score of 4.5
    spec = yaml.safe_load((REPO / "grading.yml").read_text(encoding="utf-8"))
    assert spec["grades"][0]["grade"] == "A" and spec["grades"][1]["min_score"] < 4.0
    spec["grades"][0]["min_score"] = 4.5
    edited = tmp_path / "grading.yml"
    edited.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    config.write_text(config.read_text(encoding="utf-8") + f"grading: {edited}\n", encoding="utf-8")
    second_version = version_of(spec_files(edited, REPO / "rules.yml")).version
    stored = query(warehouse, f"{STORED} order by customer_key")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRMGRADE_WAREHOUSE", str(warehouse))
        graded = dg.AssetSelection.assets(["history", "grade_history"]).upstream().required_multi_asset_neighbors()
        assert materialize(config, warehouse, graded).success
        served = query(warehouse, "select * from marts.customer_grades order by customer_key")

        # the corrected prices reach orders the first day graded: the versions it read are closed, not current
        [(corrected,)] = query(
            warehouse,
            f"""select count(*) from history.grading_input_orders as o
            join marts.fct_orders as now using (source_name, order_id)
            where o.dbt_valid_to is not null and o.ordered_at < '{DEMO_AS_OF}' and o.net_amount <> now.net_amount
              and o.customer_key in (select customer_key from ({STORED}))""",
        )
        assert corrected > 0
        assert query(warehouse, "select distinct spec_version from marts.customer_grades") == [(second_version,)]

        # the day under the spec it used: the stored grades, every column of every customer
        assert main(["regrade", "--as-of", DEMO_AS_OF, "--config", str(config)]) == 0
        out = capsys.readouterr().out
        assert f"{len(stored):,} customers graded under {first_version}: identical to the" in out
        assert query(warehouse, f"{_regraded(first_version)} order by customer_key") == stored
        assert _differing(warehouse, STORED, _regraded(first_version)) == 0

        # the day under the new spec: exactly its A customers scoring below 4.5 become B
        assert main(["regrade", "--as-of", DEMO_AS_OF, "--spec", second_version, "--config", str(config)]) == 0
        [(expected,)] = query(warehouse, f"select count(*) from ({STORED}) where grade = 'A' and weighted_score < 4.5")
        assert expected > 0
        moves = query(
            warehouse,
            f"""select s.grade, r.grade, count(*) from ({STORED}) s join ({_regraded(second_version)}) r
            using (customer_key) where s.grade <> r.grade group by all""",
        )
        assert moves == [("A", "B", expected)]
        assert f"{expected:,} get another grade (A->B {expected:,})" in capsys.readouterr().out

    # neither regrade touched what is served or the history it compares with
    assert query(warehouse, "select * from marts.customer_grades order by customer_key") == served
    assert query(warehouse, f"{STORED} order by customer_key") == stored
    # a day never graded, and a version never recorded, are refused with the reason
    assert main(["regrade", "--as-of", "2026-05-01", "--config", str(config)]) == 1
    assert "2026-05-01 was never graded" in capsys.readouterr().err
    assert main(["regrade", "--as-of", DEMO_AS_OF, "--spec", "0123456789ab", "--config", str(config)]) == 1
    assert "no grading spec version '0123456789ab'" in capsys.readouterr().err
