"""The backtest: grades of a past day against the purchases of the horizon after it."""

from datetime import date, timedelta

import duckdb
import numpy as np
import polars as pl
import pytest

from pipeline.monitoring.backtest import auc, backtest, lift_table, normalised_gini, read_outcomes, score_table

D = date(2026, 4, 1)


def test_auc_counts_pairs_and_ties_count_half():
    # buyers score 3 and 1, non-buyers 2 and 1: pairs (3,2) win, (3,1) win, (1,2) lose, (1,1) tie -> 2.5 / 4
    assert auc(np.array([3.0, 1.0, 2.0, 1.0]), np.array([True, True, False, False])) == pytest.approx(0.625)
    assert auc(np.array([1.0, 2.0]), np.array([True, True])) is None  # nobody to compare with


def test_normalised_gini_is_one_for_a_perfect_ranking_and_minus_one_reversed():
    revenue = np.array([0.0, 10.0, 0.0, 100.0, 5.0])
    assert normalised_gini(revenue, revenue) == pytest.approx(1.0)
    assert normalised_gini(revenue, -revenue) == pytest.approx(-1.0)
    assert normalised_gini(np.zeros(3), np.arange(3.0)) is None  # no revenue to rank


def test_normalised_gini_does_not_depend_on_the_order_of_tied_scores():
    revenue = np.array([100.0, 0.0, 0.0, 50.0])
    tied = np.array([1.0, 1.0, 1.0, 0.0])
    assert normalised_gini(revenue, tied) == pytest.approx(normalised_gini(revenue[[2, 1, 0, 3]], tied))
    # a constant score ranks nothing: no better than chance
    assert normalised_gini(revenue, np.ones(4)) == pytest.approx(0.0)


def outcomes() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "as_of_date": [D] * 4,
            "customer_key": ["a", "b", "c", "d"],
            "grade": ["A", "A", "B", "B"],
            "segment_en": ["Champions", "Champions", "Lost", "Lost"],
            "churn_risk": ["low", "low", "high", "(none)"],
            "weighted_score": [4.5, 4.0, 2.0, 1.0],
            "p_alive": [0.9, 0.8, 0.3, None],
            "clv": [1200.0, 600.0, 12.0, None],
            "purchases": [2, 0, 1, 0],
            "revenue": [300.0, 0.0, 100.0, 0.0],
        }
    )


def test_lift_per_grade_is_revenue_per_customer_over_the_days_average():
    table = lift_table(outcomes(), horizon_days=90, clv_horizon_months=12)
    grades = {r["group_value"]: r for r in table.filter(pl.col("grouped_by") == "grade").rows(named=True)}
    day = table.filter(pl.col("grouped_by") == "all").row(0, named=True)
    assert (day["customers"], day["buyers"], day["revenue"], day["revenue_per_customer"]) == (4, 2, 400.0, 100.0)
    assert grades["A"]["lift"] == pytest.approx(1.5) and grades["B"]["lift"] == pytest.approx(0.5)
    assert grades["A"]["repeat_rate"] == 0.5 and grades["B"]["churn_rate"] == 0.5
    # CLV of 12 months, pro rata for 90 days; customer d has no prediction and is not counted in it
    assert grades["A"]["predicted_revenue"] == pytest.approx(1800 * 90 / 365.25)
    assert grades["B"]["customers_predicted"] == 1
    assert set(table["grouped_by"]) == {"all", "grade", "segment_en", "churn_risk"}
    for grouping in ("grade", "segment_en", "churn_risk"):
        part = table.filter(pl.col("grouped_by") == grouping)
        assert part["customers"].sum() == 4 and part["revenue"].sum() == 400.0


def test_scores_are_judged_on_the_customers_that_have_them():
    scores = {r["score"]: r for r in score_table(outcomes(), 90).rows(named=True)}
    # weighted_score: buyers a (4.5) and c (2.0) vs b (4.0) and d (1.0): 3 of 4 pairs
    assert scores["weighted_score"]["auc_repeat"] == pytest.approx(0.75)
    assert scores["weighted_score"]["gini_repeat"] == pytest.approx(0.5)
    assert scores["p_alive"]["customers"] == 3 and scores["p_alive"]["buyers"] == 2
    assert scores["p_alive"]["auc_repeat"] == pytest.approx(0.5)  # a 0.9 > b 0.8, c 0.3 < b 0.8


def test_nothing_to_backtest_gives_empty_tables():
    empty = outcomes().clear()
    result = backtest(empty, 90, 12)
    assert result.groups.height == 0 and result.scores.height == 0


@pytest.fixture
def warehouse():
    con = duckdb.connect()
    con.execute("create schema history; create schema marts")
    con.execute(
        """create table history.grade_history as select * from (values
            (date '2026-04-01', 'a', 'A', 'Champions', 'low', 4.5, 0.9, 1000.0),
            (date '2026-04-01', 'b', 'B', 'Lost', 'high', 1.0, 0.2, 10.0),
            (date '2026-05-01', 'a', 'A', 'Champions', 'low', 4.5, 0.9, 1000.0)
        ) as t(as_of_date, customer_key, grade, segment_en, churn_risk, weighted_score, p_alive, clv)"""
    )
    con.execute(
        """create table marts.fct_orders as select * from (values
            ('a', date '2026-04-01', 'completed', 100.0, 90.0, true),
            ('a', date '2026-06-29', 'completed', 50.0, 50.0, true),
            ('a', date '2026-06-30', 'completed', 999.0, 999.0, true),
            ('a', date '2026-03-31', 'completed', 999.0, 999.0, true),
            ('b', date '2026-05-01', 'cancelled', 999.0, 0.0, false)
        ) as t(customer_key, order_date, order_status, gross_amount, net_amount, is_purchase)"""
    )
    yield con
    con.close()


def test_outcomes_count_the_horizon_from_the_graded_day_and_only_matured_days(warehouse):
    got = read_outcomes(warehouse, date(2026, 7, 1), 90, "net")
    # 2026-05-01 + 90 days is after 2026-07-01: not yet backtested
    assert got["as_of_date"].unique().to_list() == [D]
    rows = {r["customer_key"]: r for r in got.rows(named=True)}
    # [Apr 1, Jun 30): the order on the graded day counts, the one on Jun 30 and the one before do not
    assert (rows["a"]["purchases"], rows["a"]["revenue"]) == (2, 140.0)
    assert (rows["b"]["purchases"], rows["b"]["revenue"]) == (0, 0.0)  # a cancelled order is no purchase
    gross = read_outcomes(warehouse, date(2026, 7, 1), 90, "gross")
    assert gross.filter(pl.col("customer_key") == "a")["revenue"].item() == 150.0
    later = read_outcomes(warehouse, D + timedelta(days=89), 90, "net")
    assert later.height == 0
