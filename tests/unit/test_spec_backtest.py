"""The spec backtest: every spec version that graded a past day, scored against what its customers bought next."""

from datetime import date, timedelta

import duckdb
import pytest

from pipeline.monitoring.spec_backtest import compare_specs, read_spec_outcomes, spec_backtest

DAY = date(2026, 3, 1)
HORIZON = 90
AS_OF = DAY + timedelta(days=HORIZON)  # the first day DAY's horizon has passed by
# customer: (served grade, served score, candidate grade, candidate score). The served spec puts c3 and c4, who
# buy nothing next, on top; the candidate puts c1 and c2, the next period's buyers, there.
GRADED = {
    "c1": ("B", 3.5, "A", 4.5),
    "c2": ("B", 3.4, "A", 4.4),
    "c3": ("A", 4.5, "B", 3.5),
    "c4": ("A", 4.4, "B", 3.4),
    "c5": ("C", 2.0, "C", 2.0),
    "c6": ("C", 1.9, "C", 1.9),
}


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("create schema history")
    con.execute("create schema marts")
    con.execute(
        """create table history.grade_history (
            as_of_date date, customer_key varchar, profile varchar, recency_days integer, frequency bigint,
            monetary decimal(18, 2), r_score integer, f_score integer, m_score integer, rfm_code varchar,
            weighted_score double, grade varchar, grade_label varchar, segment_cn varchar, segment_en varchar,
            spec_version varchar, recency_method varchar, typical_gap_days double, clv double,
            inputs_as_of timestamp)"""
    )
    for key, (grade, score, _, _) in GRADED.items():
        con.execute(
            "insert into history.grade_history (as_of_date, customer_key, grade, weighted_score, spec_version) "
            "values (?, ?, ?, ?, 'served1')",
            [DAY, key, grade, score],
        )
    con.execute(
        """create table marts.fct_orders (
            customer_key varchar, order_date date, order_status varchar,
            gross_amount decimal(18, 2), net_amount decimal(18, 2), is_purchase boolean)"""
    )
    orders = [
        ("c1", DAY, "completed", 1000, 1000),
        ("c2", DAY + timedelta(days=HORIZON - 1), "completed", 600, 500),
        ("c3", DAY - timedelta(days=1), "completed", 900, 900),  # before the day: not what followed
        ("c4", DAY + timedelta(days=HORIZON), "completed", 900, 900),  # after the horizon
        ("c5", DAY + timedelta(days=5), "cancelled", 900, 0),  # not a purchase
    ]
    con.executemany(
        "insert into marts.fct_orders values (?, ?, ?, ?, ?, ?)", [(*o, o[2] == "completed") for o in orders]
    )
    return con


def _candidate(con, variant="shadow", version="cand1", day=DAY):
    from pipeline.grading.variant import VARIANT_GRADES_DDL

    con.execute(VARIANT_GRADES_DDL)
    for key, (_, _, grade, score) in GRADED.items():
        con.execute(
            """insert into evaluation.variant_grades (as_of_date, customer_key, grade, weighted_score, spec_version,
                variant, recorded_at) values (?, ?, ?, ?, ?, ?, current_timestamp)""",
            [day, key, grade, score, version, variant],
        )


def _scores(con, as_of=AS_OF):
    outcomes = read_spec_outcomes(con, as_of, HORIZON, "net")
    return spec_backtest(outcomes, HORIZON)


def test_the_spec_whose_better_grades_bought_next_scores_higher(con):
    _candidate(con)
    scores = {row["spec_version"]: row for row in _scores(con).rows(named=True)}
    assert set(scores) == {"served1", "cand1"}
    served, candidate = scores["served1"], scores["cand1"]
    assert (served["graded_by"], candidate["graded_by"]) == ("served", "shadow")
    assert served["customers"] == candidate["customers"] == 6
    assert served["buyers"] == candidate["buyers"] == 2  # c1 and c2, within [day, day + horizon)
    # the buyers (B) rank above half the non-buyers (C) and below the other half (A): chance
    assert served["auc_repeat_grade"] == pytest.approx(0.5)
    # the candidate's buyers have its best grade
    assert candidate["auc_repeat_grade"] == pytest.approx(1.0)
    assert candidate["gini_revenue_grade"] > served["gini_revenue_grade"]
    # the best grade's revenue per customer (1500 / 2) over the day's (1500 / 6)
    assert (candidate["best_grade"], candidate["best_grade_lift"]) == ("A", pytest.approx(3.0))
    assert (served["best_grade"], served["best_grade_lift"]) == ("A", 0.0)

    [compared] = compare_specs(_scores(con)).rows(named=True)
    assert (compared["spec_version"], compared["graded_by"], compared["days"]) == ("cand1", "shadow", 1)
    assert (compared["auc_repeat_grade"], compared["served_auc_repeat_grade"]) == pytest.approx((1.0, 0.5))


def test_a_regrade_under_the_served_version_is_not_counted_twice(con):
    _candidate(con, variant="regrade", version="served1")
    scores = _scores(con)
    assert scores.select("spec_version", "graded_by").rows() == [("served1", "served")]
    assert compare_specs(scores).is_empty()  # one version alone: nothing to compare


def test_a_day_whose_horizon_has_not_passed_is_not_backtested(con):
    _candidate(con)
    assert _scores(con, as_of=AS_OF - timedelta(days=1)).is_empty()


def test_the_served_grades_alone_before_any_variant_graded(con):
    scores = _scores(con)
    assert scores.select("spec_version", "graded_by", "customers").rows() == [("served1", "served", 6)]


def test_a_candidate_is_compared_with_the_served_grades_of_the_days_it_graded(con):
    _candidate(con)
    later = DAY + timedelta(days=1)
    # a later day graded by another served version, buyers on top: the candidate did not grade it
    for key, (_, _, grade, score) in GRADED.items():
        con.execute(
            "insert into history.grade_history (as_of_date, customer_key, grade, weighted_score, spec_version) "
            "values (?, ?, ?, ?, 'served2')",
            [later, key, grade, score],
        )
    scores = _scores(con, as_of=later + timedelta(days=HORIZON))
    assert scores.height == 3
    [compared] = compare_specs(scores).rows(named=True)
    # over its one day only: the served mean is served1's 0.5 there, not pulled up by served2's later day
    assert (compared["spec_version"], compared["days"]) == ("cand1", 1)
    assert compared["served_auc_repeat_grade"] == pytest.approx(0.5)
