"""Shadow grading: a candidate grading spec graded beside the live one and compared with it, never served.

The candidate is a grading variant (variant.py) named `shadow`: the grading models built again under its spec
into shadow_marts.customer_grades; the live marts and what BI reads are untouched. The comparison counts
customers per (live grade, shadow grade) for the day; the shadow's grades are kept per day in
evaluation.variant_grades, for the backtest of which spec predicted better (pipeline/monitoring/spec_backtest.py).
docs/grading.md.
"""

from __future__ import annotations

from datetime import date

import duckdb

from pipeline.grading.variant import grades_table, keep_variant_grades
from pipeline.warehouse_tables import transaction

VARIANT = "shadow"
GRADES = grades_table(VARIANT)

COMPARISON_DDL = """
create table if not exists evaluation.shadow_grade_comparison (
    as_of_date date not null,
    live_spec_version varchar,
    shadow_spec_version varchar,
    live_grade varchar not null,
    shadow_grade varchar not null,
    customers bigint not null,
    recorded_at timestamp not null
)"""


def record_comparison(con: duckdb.DuckDBPyConnection, as_of_date: date) -> list[dict]:
    """Replace the day's rows of evaluation.shadow_grade_comparison; returns them (as dicts).

    A customer graded by one spec only (a candidate that changes who is graded) shows as '(none)' on the other.
    """
    con.execute("create schema if not exists evaluation")
    con.execute(COMPARISON_DDL)
    with transaction(con):
        con.execute("delete from evaluation.shadow_grade_comparison where as_of_date = ?", [as_of_date])
        con.execute(
            f"""insert into evaluation.shadow_grade_comparison
            select
                ?,
                any_value(live.spec_version),
                any_value(shadow.spec_version),
                coalesce(live.grade, '(none)'),
                coalesce(shadow.grade, '(none)'),
                count(*),
                current_timestamp
            from marts.customer_grades as live
            full join {GRADES} as shadow on live.customer_key = shadow.customer_key
            group by coalesce(live.grade, '(none)'), coalesce(shadow.grade, '(none)')""",
            [as_of_date],
        )
    return (
        con.sql(
            """select live_spec_version, shadow_spec_version, live_grade, shadow_grade, customers
            from evaluation.shadow_grade_comparison where as_of_date = ? order by live_grade, shadow_grade""",
            params=[as_of_date],
        )
        .pl()
        .rows(named=True)
    )


def comparison_totals(rows: list[dict]) -> dict[str, object]:
    """A day's comparison rows summed up: both versions, customers, those graded otherwise and their moves."""
    moves = [r for r in rows if r["live_grade"] != r["shadow_grade"]]
    return {
        "live_spec_version": next((r["live_spec_version"] for r in rows if r["live_spec_version"]), None),
        "shadow_spec_version": next((r["shadow_spec_version"] for r in rows if r["shadow_spec_version"]), None),
        "customers": sum(r["customers"] for r in rows),
        "grade_differs": sum(r["customers"] for r in moves),
        "moves": moves,
    }


def keep_grades(con: duckdb.DuckDBPyConnection, as_of_date: date) -> str:
    """Keep the day's shadow grades in evaluation.variant_grades, stamped with the inputs time of the served grades
    of the day (the same inputs graded both); returns the shadow's version."""
    (inputs_as_of,) = con.execute(
        "select max(inputs_as_of) from history.grade_history where as_of_date = ?", [as_of_date]
    ).fetchone()
    return keep_variant_grades(con, VARIANT, as_of_date, inputs_as_of)
