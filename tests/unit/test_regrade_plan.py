"""Which days `crmgrade regrade` takes, under which spec, and what it says about them."""

import json
import re
from datetime import date, datetime

import duckdb
import pytest

from pipeline.grading.regrade import (
    REGRADABLE_DAYS,
    RegradeDay,
    RegradeError,
    RegradeResult,
    dbt_vars,
    describe,
    plan_day,
)
from pipeline.grading.versions import VERSIONS_DDL, SpecVersion

KEPT = datetime(2026, 7, 1, 2, 30, 15, 123456)


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("create schema history")
    con.execute("create schema grading_spec")
    con.execute(VERSIONS_DDL)
    con.execute(
        "insert into grading_spec.versions values (?, ?, ?, 'run-1'), (?, ?, ?, 'run-2')",
        ["v1", json.dumps({"grading.yml": "one"}), KEPT, "v2", json.dumps({"grading.yml": "two"}), KEPT],
    )
    con.execute(
        "create table history.grade_history (as_of_date date, customer_key varchar, spec_version varchar, "
        "inputs_as_of timestamp)"
    )
    con.execute(
        """insert into history.grade_history values
        ('2026-06-01', 'c1', null, null),        -- graded before versions and inputs were kept
        ('2026-06-15', 'c1', 'v1', null),        -- before the inputs were kept
        ('2026-07-01', 'c1', 'v1', ?), ('2026-07-01', 'c2', 'v1', ?)""",
        [KEPT, KEPT],
    )
    return con


def test_a_day_is_planned_under_its_own_version_from_its_inputs_time(con):
    day = plan_day(con, date(2026, 7, 1), None)
    assert (day.spec.version, day.graded_under, day.inputs_as_of) == ("v1", "v1", KEPT)
    assert day.spec.files == {"grading.yml": "one"}
    assert plan_day(con, date(2026, 7, 1), "v2").spec.files == {"grading.yml": "two"}
    # dbt gets the day and the inputs time to the microsecond: the snapshot versions valid then
    assert dbt_vars(day, {"as_of_date": "2026-11-24", "timezone": "Asia/Shanghai"}) == {
        "as_of_date": "2026-07-01",
        "timezone": "Asia/Shanghai",
        "grading_inputs_at": "2026-07-01 02:30:15.123456",
    }
    assert con.execute(REGRADABLE_DAYS).fetchall() == [(date(2026, 7, 1),)]


@pytest.mark.parametrize(
    ("day", "version", "message"),
    [
        (date(2026, 5, 1), None, "2026-05-01 was never graded (history.grade_history: graded days run from 2026-06-01"),
        (date(2026, 6, 15), None, "graded before the grading's inputs were kept"),
        (date(2026, 6, 1), "v1", "graded before the grading's inputs were kept"),
        (date(2026, 7, 1), "v9", "no grading spec version 'v9' in grading_spec.versions (kept: ['v1', 'v2'])"),
    ],
)
def test_a_day_that_cannot_be_graded_again_is_refused_with_the_reason(con, day, version, message):
    with pytest.raises(RegradeError, match=re.escape(message)):
        plan_day(con, day, version)


def _result(version, graded_under, differing, moves=()):
    day = RegradeDay(date(2026, 7, 1), SpecVersion(version, {}), KEPT, graded_under)
    return RegradeResult(day, 1200, 1200, differing, list(moves))


def test_what_a_regrade_says():
    assert describe(_result("v1", "v1", 0)) == (
        "1,200 customers graded under v1: identical to the 1,200 stored grades of 2026-07-01"
    )
    assert "7 customer(s) differ from the stored grades of 2026-07-01 under the same version" in describe(
        _result("v1", "v1", 7)
    )
    assert describe(_result("v2", "v1", 1200, [("A", "B", 30), ("B", "C", 5)])) == (
        "1,200 customers graded under v2; graded under v1 it had 1,200: 35 get another grade (A->B 30, B->C 5)"
    )
