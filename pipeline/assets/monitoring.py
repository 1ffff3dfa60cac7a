"""The monitoring report asset: after the monitoring models, one HTML page per run under reports_dir/monitoring,
linked from the asset's metadata and tagged on the run."""

import shutil

import dagster as dg
import polars as pl

from pipeline.grading.spec import load_grading_spec
from pipeline.markdown import md_table
from pipeline.monitoring.backtest import backtest, read_outcomes
from pipeline.monitoring.report import render_report, summary_markdown
from pipeline.monitoring.report_data import read_report_data
from pipeline.partitions import AS_OF_PARTITIONS
from pipeline.resources import CrmgradeSettings, DuckDBWarehouse
from pipeline.warehouse_tables import replace_tables

REPORT_TAG = "crmgrade/report"
_READS = [
    ["history", "kpi_history"],
    ["monitoring", "grade_migrations"],
    ["monitoring", "segment_trends"],
    ["monitoring", "kpi_trends"],
    ["monitoring", "dq_trends"],
    ["monitoring", "drift_alerts"],
    ["monitoring", "backtest_groups"],
    ["monitoring", "backtest_scores"],
]

_BACKTEST_TABLES = {
    "backtest_groups": "Per backtested day, grouping (all, grade, segment_en, churn_risk) and group: customers, "
    "buyers, repeat and churn rate, revenue, lift and the CLV predicted for the horizon, pro rata.",
    "backtest_scores": "Per backtested day and score (weighted_score, p_alive, clv): AUC for buying again and the "
    "normalised Gini of revenue.",
}


_DAY = {
    "as_of_date": "The graded day backtested (history.grade_history).",
    "horizon_days": "Purchases counted in [as_of_date, as_of_date + horizon_days).",
}
_BACKTEST_COLUMNS = {
    "backtest_groups": {
        **_DAY,
        "grouped_by": "all (the whole day), grade, segment_en or churn_risk.",
        "group_value": "The grade, segment or churn-risk band; '(all)' for the whole day.",
        "customers": "Customers graded on the day in the group.",
        "buyers": "Of them, customers who bought in the horizon.",
        "repeat_rate": "buyers / customers.",
        "churn_rate": "1 - repeat_rate: graded customers who did not buy in the horizon.",
        "revenue": "Their spend in the horizon (the grading spec's monetary basis and purchase statuses), CNY.",
        "revenue_per_customer": "revenue / customers.",
        "lift": "revenue_per_customer over the whole day's revenue per customer.",
        "customers_predicted": "Customers of the group with a CLV predicted on the day.",
        "predicted_revenue": "Their CLV predicted on the day, pro rata to the horizon (undiscounted), CNY.",
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
}


@dg.multi_asset(
    partitions_def=AS_OF_PARTITIONS,
    specs=[
        dg.AssetSpec(
            ["monitoring", table],
            description=description,
            metadata={
                "dagster/column_schema": dg.TableSchema(
                    columns=[dg.TableColumn(c, description=d) for c, d in _BACKTEST_COLUMNS[table].items()]
                )
            },
            group_name="monitoring",
            kinds={"duckdb", "polars"},
            deps=[dg.AssetKey(["history", "grade_history"]), dg.AssetKey(["marts", "fct_orders"])],
        )
        for table, description in _BACKTEST_TABLES.items()
    ],
)
def backtest_assets(context: dg.AssetExecutionContext, settings: CrmgradeSettings, warehouse: DuckDBWarehouse):
    """Every graded day whose horizon has passed, against the purchases of that horizon
    (pipeline/monitoring/backtest.py). Recomputed whole each run: a late order or an identity merge since
    changes the realised value, never the grades of that day."""
    cfg = settings.load_for(context)
    spec = load_grading_spec(cfg.grading)
    horizon = cfg.monitoring.backtest.horizon_days
    as_of = cfg.resolved_as_of_date()
    with warehouse.connect() as con:
        outcomes = read_outcomes(con, as_of, horizon, list(spec.purchase_statuses), spec.monetary)
        result = backtest(outcomes, horizon, spec.clv.horizon_months)
        replace_tables(con, "monitoring", {"backtest_groups": result.groups, "backtest_scores": result.scores})
    days, latest = result.scores["as_of_date"].n_unique(), result.scores["as_of_date"].max()
    context.log.info(f"backtested {days} graded day(s) with a {horizon}-day horizon before {as_of}")
    grades = result.groups.filter((pl.col("as_of_date") == latest) & (pl.col("grouped_by") == "grade"))
    scores = result.scores.filter(pl.col("as_of_date") == latest)
    common = {"horizon_days": horizon, "days_backtested": days, "latest_day": str(latest) if latest else None}
    yield dg.MaterializeResult(
        asset_key=["monitoring", "backtest_groups"],
        metadata={
            **common,
            "rows": result.groups.height,
            "lift_per_grade": dg.MetadataValue.md(
                md_table(
                    ["grade", "customers", "repeat rate", "revenue per customer", "lift"],
                    grades.select("group_value", "customers", "repeat_rate", "revenue_per_customer", "lift").rows(),
                )
            ),
        },
    )
    yield dg.MaterializeResult(
        asset_key=["monitoring", "backtest_scores"],
        metadata={
            **common,
            "rows": result.scores.height,
            "scores": dg.MetadataValue.md(
                md_table(
                    ["score", "customers", "AUC (bought again)", "Gini (revenue)"],
                    scores.select("score", "customers", "auc_repeat", "gini_revenue").rows(),
                )
            ),
        },
    )


@dg.asset_check(
    asset=["monitoring", "backtest_scores"],
    description="The grades' weighted score ranks next-period buyers above non-buyers better than chance "
    "(AUC > 0.5) on the latest backtested day. A warning: tune grading.yml, the run is not stopped.",
)
def grades_predict_better_than_chance(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        rows = con.sql(
            """select as_of_date, auc_repeat, customers from monitoring.backtest_scores
            where score = 'weighted_score' order by as_of_date desc limit 1"""
        ).fetchall()
    if not rows or rows[0][1] is None:
        return dg.AssetCheckResult(passed=True, metadata={"backtested_day": None, "note": "no day backtested yet"})
    day, area, customers = rows[0]
    return dg.AssetCheckResult(
        passed=area > 0.5,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"backtested_day": str(day), "auc_repeat": area, "customers": customers},
    )


@dg.asset(
    partitions_def=AS_OF_PARTITIONS,
    key=["monitoring", "report"],
    group_name="monitoring",
    deps=[dg.AssetKey(k) for k in _READS],
    kinds={"html", "plotly"},
    description="The run's monitoring report: grades and segments, migrations, trends, data quality and drift "
    "alerts, as a self-contained HTML page (reports_dir/monitoring/report_<as-of>_<run>.html, and latest.html).",
)
def monitoring_report(context: dg.AssetExecutionContext, settings: CrmgradeSettings, warehouse: DuckDBWarehouse):
    cfg = settings.load_for(context)
    as_of = cfg.resolved_as_of_date()
    with warehouse.connect() as con:
        data = read_report_data(con, as_of, context.run_id)
    folder = cfg.reports_dir / "monitoring"
    path = folder / f"report_{as_of.isoformat()}_{context.run_id[:8]}.html"
    charts = render_report(data, path)
    latest = folder / "latest.html"
    shutil.copyfile(path, latest.with_suffix(".tmp"))
    latest.with_suffix(".tmp").replace(latest)
    context.instance.add_run_tags(context.run_id, {REPORT_TAG: str(path.resolve())})
    context.log.info(f"Monitoring report written to {path}")
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.path(str(path.resolve())),
            "report_url": dg.MetadataValue.url(path.resolve().as_uri()),
            "charts": dg.MetadataValue.json(charts),
            "summary": dg.MetadataValue.md(summary_markdown(data)),
        }
    )
