"""bench.pipeline's table: a size whose later run failed still shows what was measured, and says what failed."""

from bench.pipeline import table


def _run(wall: float) -> dict:
    return {
        "wall_seconds": wall,
        "rows_read": 1000,
        "rows_per_second": int(1000 / wall),
        "peak_rss_gib": 1.5,
        "stage_seconds": {"dbt": wall / 2, "ingest": wall / 4},
        "peak_rss_gib_by_step": {"identity_assets": 1.5},
        "identity_stage_seconds": {"records": 1.0},
        "dbt": {"seconds_by_type": {"model": 3.0}, "nodes": 7},
        "customers_changed": 12,
        "customers": 1200,
    }


def _baseline() -> dict:
    comparison = {
        "grades_agree": True,
        "same_grade": 90,
        "customers_compared": 90,
        "compared_share": 0.9,
        "customers_graded_pipeline": 100,
        "orders_agree": True,
        "orders_only_in_pipeline": 0,
        "orders_only_in_baseline": 0,
        "orders_differing": 0,
    }
    baseline = {
        "wall_seconds": 10.0,
        "peak_rss_gib": 1.0,
        "prepare_seconds": 4.0,
        "sql_seconds": 6.0,
        "order_lines_kept": 900,
        "rows_per_second": 90,
        "comparison": comparison,
    }
    return baseline


def test_a_failed_increment_leaves_the_full_refresh_and_baseline_in_the_table():
    baseline = _baseline()
    result = {
        "orders": 1000,
        "duckdb_memory_limit": "3GB",
        "full_refresh": _run(40.0),
        "baseline": baseline,
        "full_over_baseline": 4.0,
        "failed": "increment: crmgrade run failed (1)",
    }
    text = table([result])
    assert "| 1,000 | full_refresh | 40 |" in text
    assert "| 1,000 | baseline | 10 |" in text
    assert "| increment |" not in text
    assert "1,000 orders: FAILED increment: crmgrade run failed (1)" in text
    assert "full / baseline 4.00x" in text
    assert "increment / full" not in text
    assert "grades: AGREE on 90 of 90" in text
    assert (
        "full_refresh at 1,000: dbt node seconds model 3 (7 nodes); identity stages records 1; "
        "customers changed 12 of 1,200" in text
    )


def test_the_increment_is_priced_against_the_baseline_and_the_full_refresh():
    result = {
        "orders": 1000,
        "duckdb_memory_limit": "3GB",
        "full_refresh": _run(40.0),
        "baseline": _baseline(),
        "increment": _run(5.0),
        "full_over_baseline": 4.0,
        "increment_over_baseline": 0.5,
        "increment_over_full": 0.125,
    }
    text = table([result])
    assert "1,000 orders: increment / baseline 0.50x (target <= 0.4 at 10M), increment / full 12.5%" in text
