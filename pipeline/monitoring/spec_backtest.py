"""Which grading spec predicted better? Every spec version that graded a day, against what its customers did next.

A day is graded by the served spec (history.grade_history) and may also have been graded by others: the shadow
candidate on the day itself, `crmgrade regrade` afterwards (evaluation.variant_grades). Once the day's horizon has
passed, each version's grades of the day are scored against the purchases of [day, day + horizon) from
marts.fct_orders, as backtest.py scores the served grades: the AUC of "bought again" and the normalised Gini of
revenue, ranked by the grade (grades in the order of their mean weighted score that day: the better grade is
the one given to the higher scores) and by the weighted score itself, and the lift of the best grade. On the
same days, the version with the higher AUC and Gini ranked next-period value better: promoting it is a measured
decision.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from pipeline.monitoring.backtest import HORIZON_PURCHASES, auc, normalised_gini
from pipeline.warehouse_tables import table_exists

_OUTCOMES = f"""
with served as (
    select as_of_date, spec_version, 'served' as graded_by, customer_key, grade, weighted_score
    from history.grade_history
    where as_of_date + $horizon <= $as_of and spec_version is not null
),
others as (
    -- a version that also graded the day as served is the served grading (a regrade reproducing it)
    select v.as_of_date, v.spec_version, v.variant as graded_by, v.customer_key, v.grade, v.weighted_score
    from variant_grades as v
    where v.as_of_date + $horizon <= $as_of
        and not exists (
            select 1 from served as s where s.as_of_date = v.as_of_date and s.spec_version = v.spec_version
        )
),
graded as (
    select * from served
    union all
    select * from others
),
graded_days as (
    select distinct as_of_date, customer_key from graded
),
{HORIZON_PURCHASES}
select g.as_of_date, g.spec_version, g.graded_by, g.customer_key, g.grade, g.weighted_score,
    coalesce(p.purchases, 0) as purchases, coalesce(p.revenue, 0)::double as revenue
from graded as g
left join purchases as p using (as_of_date, customer_key)
order by g.as_of_date, g.spec_version, g.customer_key
"""

SPEC_BACKTEST_DESCRIPTION = (
    "Per backtested day and spec version that graded it (served, shadow or regrade): AUC and Gini of the grade "
    "and of the weighted score against the horizon's purchases, and the best grade's lift."
)
SPEC_BACKTEST_COLUMNS = {
    "as_of_date": "The graded day backtested.",
    "horizon_days": "Purchases counted in [as_of_date, as_of_date + horizon_days).",
    "spec_version": "The grading spec version (grading_spec.versions).",
    "graded_by": "served (history.grade_history), shadow or regrade (evaluation.variant_grades).",
    "customers": "Customers the version graded on the day.",
    "buyers": "Of them, customers who bought in the horizon.",
    "auc_repeat_grade": "P(a buyer has a better grade than a non-buyer), ties half; 0.5 is chance.",
    "gini_revenue_grade": "Normalised Gini of horizon revenue ranked by the grade (1 perfect, 0 random).",
    "auc_repeat_score": "The same AUC ranked by the weighted score.",
    "gini_revenue_score": "The same Gini ranked by the weighted score.",
    "best_grade": "The version's best grade that day (highest mean weighted score).",
    "best_grade_lift": "Revenue per customer of the best grade over the day's revenue per customer.",
}
_SCHEMA = {
    "as_of_date": pl.Date,
    "horizon_days": pl.Int64,
    "spec_version": pl.String,
    "graded_by": pl.String,
    "customers": pl.Int64,
    "buyers": pl.Int64,
    "auc_repeat_grade": pl.Float64,
    "gini_revenue_grade": pl.Float64,
    "auc_repeat_score": pl.Float64,
    "gini_revenue_score": pl.Float64,
    "best_grade": pl.String,
    "best_grade_lift": pl.Float64,
}


def read_spec_outcomes(con: duckdb.DuckDBPyConnection, as_of: date, horizon_days: int, monetary: str) -> pl.DataFrame:
    """Every customer of every version's grades of a day whose horizon has passed, with what they bought in it."""
    # before any variant graded a day there is no evaluation.variant_grades: the served grades alone (not created
    # here, it is the variants' table)
    exists = table_exists(con, "evaluation", "variant_grades")
    con.execute(
        "create or replace temp view variant_grades as "
        + (
            "select * from evaluation.variant_grades"
            if exists
            else """select null::date as as_of_date, null::varchar as spec_version, null::varchar as variant,
                null::varchar as customer_key, null::varchar as grade, null::double as weighted_score where false"""
        )
    )
    params = {"as_of": as_of, "horizon": horizon_days, "basis": monetary}
    return con.sql(_OUTCOMES, params=params).pl()


def spec_backtest(outcomes: pl.DataFrame, horizon_days: int) -> pl.DataFrame:
    """One row per day and version: how well its grades and scores ranked what followed."""
    rows = []
    for (day, version, graded_by), part in outcomes.group_by(
        ["as_of_date", "spec_version", "graded_by"], maintain_order=True
    ):
        # the grade as a number: grades ordered by the mean weighted score they were given for
        order = part.group_by("grade").agg(pl.col("weighted_score").mean().alias("mean_score"))
        order = order.with_columns(pl.col("mean_score").rank("dense").alias("grade_order"))
        part = part.join(order, on="grade", how="left")
        bought = part["purchases"].to_numpy() > 0
        revenue = part["revenue"].to_numpy().astype(float)
        grade_order = part["grade_order"].to_numpy().astype(float)
        score = part["weighted_score"].to_numpy().astype(float)
        best = order.sort("mean_score", descending=True)["grade"][0]
        day_per_customer = revenue.mean()
        best_per_customer = part.filter(pl.col("grade") == best)["revenue"].mean()
        rows.append(
            {
                "as_of_date": day,
                "horizon_days": horizon_days,
                "spec_version": version,
                "graded_by": graded_by,
                "customers": part.height,
                "buyers": int(bought.sum()),
                "auc_repeat_grade": auc(grade_order, bought),
                "gini_revenue_grade": normalised_gini(revenue, grade_order),
                "auc_repeat_score": auc(score, bought),
                "gini_revenue_score": normalised_gini(revenue, score),
                "best_grade": best,
                "best_grade_lift": best_per_customer / day_per_customer if day_per_customer > 0 else None,
            }
        )
    return pl.DataFrame(rows, schema=_SCHEMA).sort("as_of_date", "graded_by", "spec_version")


_METRICS = ("auc_repeat_grade", "gini_revenue_grade", "auc_repeat_score", "gini_revenue_score", "best_grade_lift")


def compare_specs(scores: pl.DataFrame) -> pl.DataFrame:
    """Each version other than the served one against the served grades of the same days: the days, and per
    metric its mean and the served grades' mean over those days (served_<metric>). Empty when no other version
    graded a backtested day."""
    served = scores.filter(pl.col("graded_by") == "served").select(
        "as_of_date", *[pl.col(m).alias(f"served_{m}") for m in _METRICS]
    )
    others = scores.filter(pl.col("graded_by") != "served").join(served, on="as_of_date", how="inner")
    return (
        others.group_by("spec_version", "graded_by")
        .agg(
            pl.len().alias("days"),
            *[pl.col(m).mean() for m in _METRICS],
            *[pl.col(f"served_{m}").mean() for m in _METRICS],
        )
        .sort("spec_version", "graded_by")
    )
