"""Is the grading right? The grades of a past day against what its customers did in the days after it.

A graded day D (history.grade_history) is backtested once its horizon has passed: every customer graded on D,
with the purchases and revenue of [D, D + horizon) from marts.fct_orders. Per grade, segment and churn-risk band
the buyers, revenue, lift (revenue per customer over the day's average) and the CLV predicted on D pro rata to
the horizon; per score (weighted_score, p_alive, clv) the AUC for "bought again" and the normalised Gini of
revenue. A better grading.yml shows up as higher lift in the top grades and a higher AUC/Gini on the same days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import polars as pl
from scipy.stats import mannwhitneyu

from pipeline.monitoring.recommendation_backtest import COLUMNS as RECOMMENDATION_COLUMNS
from pipeline.warehouse_tables import table_exists

# Scores a higher value of which should mean more value in the horizon.
SCORES = ("weighted_score", "p_alive", "clv")
# Group columns of the lift table; "all" is the graded day as a whole (the base of the lift).
GROUPINGS = ("all", "grade", "segment_en", "churn_risk")
DAYS_PER_MONTH = 365.25 / 12

# What a customer graded on a day bought in the horizon after it: a CTE over `graded_days` (one row per day and
# customer, defined by the query using it), shared with the spec backtest (spec_backtest.py).
HORIZON_PURCHASES = """
purchases as (
    select d.as_of_date, d.customer_key, count(*) as purchases,
        sum(case when $basis = 'gross' then o.gross_amount else o.net_amount end) as revenue
    from graded_days as d
    join marts.fct_orders as o
        on o.customer_key = d.customer_key
        and o.order_date >= d.as_of_date and o.order_date < d.as_of_date + $horizon
        and o.is_purchase
    group by all
)"""

# What read_outcomes returns: one row per customer of a graded day whose horizon has passed.
OUTCOME_SCHEMA = {
    "as_of_date": pl.Date,
    "customer_key": pl.String,
    "grade": pl.String,
    "segment_en": pl.String,
    "churn_risk": pl.String,
    "weighted_score": pl.Float64,
    "p_alive": pl.Float64,
    "clv": pl.Float64,
    "purchases": pl.Int64,
    "revenue": pl.Float64,
}
_OUTCOMES = f"""
with snapshots as (
    select * from history.grade_history where as_of_date + $horizon <= $as_of
),
graded_days as (
    select as_of_date, customer_key from snapshots
),
{HORIZON_PURCHASES}
select s.as_of_date, s.customer_key, s.grade, s.segment_en, coalesce(s.churn_risk, '(none)') as churn_risk,
    s.weighted_score, s.p_alive, s.clv,
    coalesce(p.purchases, 0) as purchases, coalesce(p.revenue, 0)::double as revenue
from snapshots as s
left join purchases as p using (as_of_date, customer_key)
order by s.as_of_date, s.customer_key
"""


# The tables the backtest assets write, described for Dagster and for the serving copy.
BACKTEST_TABLES = {
    "backtest_groups": "Per backtested day, grouping (all, grade, segment_en, churn_risk) and group: customers, "
    "buyers, repeat and churn rate, revenue, lift and the CLV predicted for the horizon, pro rata.",
    "backtest_scores": "Per backtested day and score (weighted_score, p_alive, clv): AUC for buying again and the "
    "normalised Gini of revenue.",
    "backtest_recommendations": "Per backtested day and basis (all, co_purchase, segment_popular): the products "
    "offered that day, how many their customers bought in the horizon, against the segment's own habit (lift).",
}
# What each table is computed from in this run: the graded days (history.grade_history, recommendation_history)
# are earlier runs', whose horizon has passed
BACKTEST_DEPS = {
    "backtest_groups": [["marts", "fct_orders"]],
    "backtest_scores": [["marts", "fct_orders"]],
    "backtest_recommendations": [["marts", "fct_order_lines"]],
}


_DAY = {
    "as_of_date": "The graded day backtested (history.grade_history).",
    "horizon_days": "Purchases counted in [as_of_date, as_of_date + horizon_days).",
}
BACKTEST_COLUMNS = {
    "backtest_groups": {
        **_DAY,
        "grouped_by": "all (the whole day), grade, segment_en or churn_risk.",
        "group_value": "The grade, segment or churn-risk band; '(all)' for the whole day.",
        "customers": "Customers graded on the day in the group.",
        "buyers": "Of them, customers who bought in the horizon.",
        "repeat_rate": "buyers / customers.",
        "churn_rate": "1 - repeat_rate: graded customers who did not buy in the horizon.",
        "revenue": "Their spend in the horizon (the grading spec's monetary basis and purchase statuses), "
        "in grading.yml's currency.",
        "revenue_per_customer": "revenue / customers.",
        "lift": "revenue_per_customer over the whole day's revenue per customer.",
        "customers_predicted": "Customers of the group with a CLV predicted on the day.",
        "predicted_revenue": "Their CLV predicted on the day, pro rata to the horizon (undiscounted), "
        "in grading.yml's currency.",
    },
    "backtest_scores": {
        **_DAY,
        "score": "weighted_score, p_alive or clv as recorded on the day.",
        "customers": "Customers graded on the day who have the score.",
        "buyers": "Of them, customers who bought in the horizon.",
        "auc_repeat": "P(a buyer scored above a non-buyer), ties half (Mann-Whitney); 0.5 is chance.",
        "gini_repeat": "2 * auc_repeat - 1.",
        "gini_revenue": "Normalised Gini of horizon revenue ranked by the score (1 perfect, 0 random).",
    },
    "backtest_recommendations": RECOMMENDATION_COLUMNS,
}


@dataclass(frozen=True)
class Backtest:
    groups: pl.DataFrame  # one row per backtested day, grouping and group value
    scores: pl.DataFrame  # one row per backtested day and score


def read_outcomes(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    horizon_days: int,
    monetary: str,
) -> pl.DataFrame:
    """Every customer of every graded day whose horizon has passed by `as_of`, with what they bought in it
    (purchases as marts.fct_orders.is_purchase says: the grading spec's one definition, macros/purchase.sql)."""
    if not table_exists(con, "history", "grade_history"):  # the first run: no day graded before this one
        return pl.DataFrame(schema=OUTCOME_SCHEMA)
    params = {"as_of": as_of, "horizon": horizon_days, "basis": monetary}
    return con.sql(_OUTCOMES, params=params).pl().cast(OUTCOME_SCHEMA)


def lift_table(outcomes: pl.DataFrame, horizon_days: int, clv_horizon_months: int) -> pl.DataFrame:
    """Per day and group: customers, buyers, repeat and churn rate, revenue, lift, CLV predicted pro rata."""
    prorate = horizon_days / (clv_horizon_months * DAYS_PER_MONTH)
    frame = outcomes.with_columns(
        pl.lit("(all)").alias("all"),
        pl.col("revenue").cast(pl.Float64),  # a Decimal would keep its scale through the divisions below
        (pl.col("clv") * prorate).alias("predicted"),
    )
    parts = []
    for grouping in GROUPINGS:
        parts.append(
            frame.group_by("as_of_date", pl.col(grouping).cast(pl.String).fill_null("(none)").alias("group_value"))
            .agg(
                pl.len().cast(pl.Int64).alias("customers"),
                (pl.col("purchases") > 0).sum().cast(pl.Int64).alias("buyers"),
                pl.col("revenue").sum().alias("revenue"),
                pl.col("predicted").count().cast(pl.Int64).alias("customers_predicted"),
                pl.col("predicted").sum().alias("predicted_revenue"),
            )
            .with_columns(pl.lit(grouping).alias("grouped_by"))
        )
    groups = pl.concat(parts)
    day = groups.filter(pl.col("grouped_by") == "all").select(
        "as_of_date", (pl.col("revenue") / pl.col("customers")).alias("day_revenue_per_customer")
    )
    return (
        groups.join(day, on="as_of_date")
        .with_columns(
            pl.lit(horizon_days).alias("horizon_days"),
            (pl.col("buyers") / pl.col("customers")).alias("repeat_rate"),
            (1 - pl.col("buyers") / pl.col("customers")).alias("churn_rate"),
            (pl.col("revenue") / pl.col("customers")).alias("revenue_per_customer"),
            # no predicted value where no customer of the group had one (the CLV asset did not run that day)
            pl.when(pl.col("customers_predicted") > 0).then(pl.col("predicted_revenue")).alias("predicted_revenue"),
        )
        .with_columns(
            pl.when(pl.col("day_revenue_per_customer") > 0)
            .then(pl.col("revenue_per_customer") / pl.col("day_revenue_per_customer"))
            .alias("lift")
        )
        .select(
            "as_of_date",
            "horizon_days",
            "grouped_by",
            "group_value",
            "customers",
            "buyers",
            "repeat_rate",
            "churn_rate",
            "revenue",
            "revenue_per_customer",
            "lift",
            "customers_predicted",
            "predicted_revenue",
        )
        .sort("as_of_date", "grouped_by", "group_value")
    )


def auc(score: np.ndarray, positive: np.ndarray) -> float | None:
    """P(a random buyer scores above a random non-buyer), ties counting half (Mann-Whitney U / n1 n0)."""
    pos, neg = score[positive], score[~positive]
    if not len(pos) or not len(neg):
        return None
    return float(mannwhitneyu(pos, neg).statistic / (len(pos) * len(neg)))


def normalised_gini(actual: np.ndarray, score: np.ndarray) -> float | None:
    """How much of the revenue ordering the score gets right: the Gini of revenue ranked by the score over the
    Gini of revenue ranked by itself (1 = perfect, 0 = random). Tied scores share their mean revenue, so the
    result does not depend on the order of ties."""

    def gini(values: np.ndarray, by: np.ndarray) -> float:
        order = np.argsort(-by, kind="stable")
        ranked, keys = values[order], by[order]
        # replace each run of tied keys by its mean value
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        sums = np.add.reduceat(ranked, starts)
        sizes = np.diff(np.r_[starts, len(ranked)])
        ranked = np.repeat(sums / sizes, sizes)
        share = np.cumsum(ranked) / ranked.sum()
        n = len(ranked)
        return float(share.sum() / n - (n + 1) / (2 * n))

    if len(actual) < 2 or actual.sum() <= 0:
        return None
    best = gini(actual, actual)
    return gini(actual, score) / best if best > 0 else None


def score_table(outcomes: pl.DataFrame, horizon_days: int) -> pl.DataFrame:
    """Per day and score: customers with the score, buyers among them, AUC for buying again, revenue Gini."""
    rows = []
    for (day,), part in outcomes.group_by("as_of_date", maintain_order=True):
        for score in SCORES:
            scored = part.filter(pl.col(score).is_not_null())
            values = scored[score].to_numpy().astype(float)
            revenue = scored["revenue"].to_numpy().astype(float)
            bought = scored["purchases"].to_numpy() > 0
            area = auc(values, bought)
            rows.append(
                {
                    "as_of_date": day,
                    "horizon_days": horizon_days,
                    "score": score,
                    "customers": scored.height,
                    "buyers": int(bought.sum()),
                    "auc_repeat": area,
                    "gini_repeat": None if area is None else 2 * area - 1,
                    "gini_revenue": normalised_gini(revenue, values),
                }
            )
    schema = {
        "as_of_date": pl.Date,
        "horizon_days": pl.Int64,
        "score": pl.String,
        "customers": pl.Int64,
        "buyers": pl.Int64,
        "auc_repeat": pl.Float64,
        "gini_repeat": pl.Float64,
        "gini_revenue": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema).sort("as_of_date", "score")


def backtest(outcomes: pl.DataFrame, horizon_days: int, clv_horizon_months: int) -> Backtest:
    return Backtest(lift_table(outcomes, horizon_days, clv_horizon_months), score_table(outcomes, horizon_days))
