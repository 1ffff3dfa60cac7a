"""The recommendation backtest: offers of a past day against what their customers bought after it, and against
the segment's own habit."""

from datetime import date

import duckdb
import pytest

from pipeline.monitoring.recommendation_backtest import recommendation_backtest

D, LATER = "2026-03-01", "2026-05-01"


@pytest.fixture
def warehouse():
    con = duckdb.connect()
    con.execute("create schema history; create schema marts")
    # segment S1: c1..c5 graded on D; S2: c6. c1 was offered P (co-purchase) and Q (popular), c2 P, c6 P
    con.execute(
        f"""create table history.grade_history as select as_of_date::date as as_of_date, customer_key, segment_en
        from (values ('{D}', 'c1', 'S1'), ('{D}', 'c2', 'S1'), ('{D}', 'c3', 'S1'), ('{D}', 'c4', 'S1'),
            ('{D}', 'c5', 'S1'), ('{D}', 'c6', 'S2'), ('{LATER}', 'c1', 'S1'))
        as t(as_of_date, customer_key, segment_en)"""
    )
    con.execute(
        f"""create table history.recommendation_history as
        select as_of_date::date as as_of_date, customer_key, segment_en, basis, product_key
        from (values ('{D}', 'c1', 'S1', 'co_purchase', 'P'), ('{D}', 'c1', 'S1', 'segment_popular', 'Q'),
            ('{D}', 'c2', 'S1', 'co_purchase', 'P'), ('{D}', 'c6', 'S2', 'segment_popular', 'P'),
            ('{LATER}', 'c1', 'S1', 'co_purchase', 'Q'))
        as t(as_of_date, customer_key, segment_en, basis, product_key)"""
    )
    orders = [
        ("o1", "c1", "P", "2026-03-10", "completed"),  # a hit
        ("o2", "c3", "P", "2026-04-01", "completed"),  # not offered, bought anyway: the segment's habit
        ("o3", "c4", "P", "2026-01-05", "completed"),  # had P before the day: out of the habit's base
        ("o4", "c4", "P", "2026-04-02", "completed"),
        ("o5", "c5", "P", "2026-03-15", "cancelled"),  # no purchase
        ("o6", "c5", "Q", "2026-05-30", "completed"),  # D + 90: outside the horizon
        ("o7", "c6", "P", "2026-05-01", "completed"),  # a hit, in a segment of one
    ]
    con.execute(
        "create table marts.fct_order_lines (source_name varchar, order_id varchar, customer_key varchar, "
        "product_key varchar, order_date date, is_purchase boolean)"
    )
    for order_id, customer, product, day, status in orders:
        con.execute(
            "insert into marts.fct_order_lines values ('pos', ?, ?, ?, ?, ?)",
            [order_id, customer, product, day, status == "completed"],
        )
    yield con
    con.close()


def test_hits_are_set_against_what_the_segment_bought_unoffered(warehouse):
    got = recommendation_backtest(warehouse, date(2026, 7, 1), 90)
    rows = {r["basis"]: r for r in got.rows(named=True)}
    # the LATER day's horizon has not passed
    assert got["as_of_date"].unique().to_list() == [date(2026, 3, 1)] and set(rows) == {
        "all",
        "co_purchase",
        "segment_popular",
    }
    # P in S1: of c3, c5 (neither had P before nor was offered it; c4 had it) c3 bought it: chance 1/2.
    # Q in S1: nobody bought it in the horizon: chance 0. P in S2: no one unoffered: no chance, left out of the lift
    assert rows["all"] == {
        "as_of_date": date(2026, 3, 1),
        "horizon_days": 90,
        "basis": "all",
        "customers": 3,
        "recommendations": 4,
        "hits": 2,
        "hit_rate": 0.5,
        "customers_with_a_hit": 2,
        "customer_hit_rate": pytest.approx(2 / 3),
        "chance_hit_rate": pytest.approx(1 / 3),
        "lift": 1.0,
    }
    co = rows["co_purchase"]
    assert (co["customers"], co["recommendations"], co["hits"], co["chance_hit_rate"], co["lift"]) == (
        2,
        2,
        1,
        0.5,
        1.0,
    )
    popular = rows["segment_popular"]
    assert (popular["hits"], popular["hit_rate"], popular["chance_hit_rate"], popular["lift"]) == (1, 0.5, 0.0, None)


def test_nothing_old_enough_gives_an_empty_table(warehouse):
    got = recommendation_backtest(warehouse, date(2026, 5, 29), 90)
    assert got.height == 0 and got.columns[:3] == ["as_of_date", "horizon_days", "basis"]
