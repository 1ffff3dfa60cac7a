"""The benchmark's hand-written baseline (bench/baseline.sql) against the shared first run: the same orders after
cleaning, and the same grades wherever both put the same records into one customer. Guards the baseline from
drifting away from the pipeline it prices (a changed contract, cleaning rule or grading.yml shows up here)."""

from datetime import date

import duckdb
import pytest

from bench.baseline import compare, run_baseline
from tests.conftest import DEMO_AS_OF

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def baseline(first_run, tmp_path_factory):
    """The baseline's DuckDB file, its run summary, and its comparison with the first run."""
    out = tmp_path_factory.mktemp("baseline") / "baseline.duckdb"
    summary = run_baseline(first_run.sources, date.fromisoformat(DEMO_AS_OF), out)
    return out, summary, compare(first_run.warehouse, out)


def test_the_baseline_reads_the_same_orders(baseline):
    _, summary, result = baseline
    assert summary["order_lines_kept"] > 0
    assert (result["orders_only_in_pipeline"], result["orders_only_in_baseline"], result["orders_differing"]) == (
        0,
        0,
        0,
    )


def test_the_baseline_grades_as_the_pipeline_where_their_customers_are_the_same(baseline):
    _, _, result = baseline
    # exact identifiers alone join fewer records than matching does, but most customers still come out the same
    assert result["customers_compared"] >= 0.3 * result["customers_graded_pipeline"], result
    # a B2B customer whose money quintile differs because the profile's customers differ is counted apart: a few
    exact = result["customers_compared"] - result["quantile_population"]
    assert result["quantile_population"] <= 0.05 * result["customers_compared"], result
    assert result["same_grade"] == result["same_scores"] == exact, result["disagreements"]
    assert result["grades_agree"]


def test_the_comparison_sees_a_grade_that_differs(baseline, first_run, tmp_path):
    out, _, _ = baseline
    altered = tmp_path / "altered.duckdb"
    altered.write_bytes(out.read_bytes())
    con = duckdb.connect(str(altered))
    try:
        con.execute("update baseline_grades set grade = case grade when 'A' then 'B' else 'A' end")
    finally:
        con.close()
    result = compare(first_run.warehouse, altered)
    assert not result["grades_agree"]
    assert result["customers_compared"] > 0
    assert result["same_grade"] == 0
