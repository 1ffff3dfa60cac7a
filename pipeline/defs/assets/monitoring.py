"""The monitoring report asset: after the monitoring models, one HTML page per run under reports_dir/monitoring,
linked from the asset's metadata and tagged on the run."""

import shutil

import dagster as dg
import polars as pl

from pipeline.defs.partitions import partitioned
from pipeline.defs.resources import CrmgradeSettings, DuckDBWarehouse
from pipeline.grading.spec import load_grading_spec
from pipeline.markdown import md_table
from pipeline.monitoring.backtest import BACKTEST_COLUMNS, BACKTEST_DEPS, BACKTEST_TABLES, backtest, read_outcomes
from pipeline.monitoring.recommendation_backtest import recommendation_backtest
from pipeline.monitoring.report import render_report, summary_markdown
from pipeline.monitoring.report_data import read_report_data
from pipeline.monitoring.spec_backtest import (
    SPEC_BACKTEST_COLUMNS,
    SPEC_BACKTEST_DESCRIPTION,
    compare_specs,
    read_spec_outcomes,
    spec_backtest,
)
from pipeline.warehouse_tables import replace_tables
from pipeline.whole_files import replacing

REPORT_TAG = "crmgrade/report"
_READS = [
    ["history", "kpi_history"],
    ["monitoring", "grade_migrations"],
    ["monitoring", "segment_trends"],
    ["monitoring", "kpi_trends"],
    ["monitoring", "dq_trends"],
    ["monitoring", "drift_alerts"],
    ["evaluation", "backtest_groups"],
    ["evaluation", "backtest_scores"],
    ["evaluation", "backtest_recommendations"],
    ["evaluation", "shadow_grade_comparison"],
    ["evaluation", "spec_backtest"],
    ["monitoring", "campaign_effect"],
    ["monitoring", "membership_effect"],
]


@partitioned(
    dg.multi_asset,
    specs=[
        dg.AssetSpec(
            ["evaluation", table],
            description=description,
            metadata={
                "dagster/column_schema": dg.TableSchema(
                    columns=[dg.TableColumn(c, description=d) for c, d in BACKTEST_COLUMNS[table].items()]
                )
            },
            kinds={"duckdb", "polars"},
            # the graded days it reads are earlier runs' (their horizon has passed), not this run's: ordered after
            # the marts it counts purchases in, so bi reads it in the same run (models/bi/bi_backtest_*)
            deps=[dg.AssetKey(k) for k in BACKTEST_DEPS[table]],
        )
        for table, description in BACKTEST_TABLES.items()
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
        outcomes = read_outcomes(con, as_of, horizon, spec.monetary)
        result = backtest(outcomes, horizon, spec.clv.horizon_months)
        offers = recommendation_backtest(con, as_of, horizon)
        replace_tables(
            con,
            "evaluation",
            {"backtest_groups": result.groups, "backtest_scores": result.scores, "backtest_recommendations": offers},
        )
    days, latest = result.scores["as_of_date"].n_unique(), result.scores["as_of_date"].max()
    context.log.info(f"backtested {days} graded day(s) with a {horizon}-day horizon before {as_of}")
    grades = result.groups.filter((pl.col("as_of_date") == latest) & (pl.col("grouped_by") == "grade"))
    scores = result.scores.filter(pl.col("as_of_date") == latest)
    common = {"horizon_days": horizon, "days_backtested": days, "latest_day": str(latest) if latest else None}
    yield dg.MaterializeResult(
        asset_key=["evaluation", "backtest_groups"],
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
    latest_offers = offers.filter(pl.col("as_of_date") == offers["as_of_date"].max())
    yield dg.MaterializeResult(
        asset_key=["evaluation", "backtest_recommendations"],
        metadata={
            **common,
            "rows": offers.height,
            "hit_rates": dg.MetadataValue.md(
                md_table(
                    ["basis", "offers", "hit rate", "by chance", "lift"],
                    latest_offers.select("basis", "recommendations", "hit_rate", "chance_hit_rate", "lift").rows(),
                )
                if latest_offers.height
                else "no day with recommendations is old enough yet"
            ),
        },
    )
    yield dg.MaterializeResult(
        asset_key=["evaluation", "backtest_scores"],
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


@partitioned(
    dg.asset,
    key=["evaluation", "spec_backtest"],
    kinds={"duckdb", "polars"},
    description=SPEC_BACKTEST_DESCRIPTION,
    metadata={
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(c, description=d) for c, d in SPEC_BACKTEST_COLUMNS.items()]
        )
    },
    deps=[
        dg.AssetKey(["history", "grade_history"]),
        dg.AssetKey(["marts", "fct_orders"]),
        dg.AssetKey(["evaluation", "shadow_grade_comparison"]),
    ],
)
def spec_backtest_asset(context: dg.AssetExecutionContext, settings: CrmgradeSettings, warehouse: DuckDBWarehouse):
    """Every spec version that graded a day whose horizon has passed - served, shadow or regraded - against the
    purchases of that horizon (pipeline/monitoring/spec_backtest.py). Recomputed whole each run."""
    cfg = settings.load_for(context)
    # one yardstick for every version: value as the served spec counts it (its purchases, net or gross)
    spec = load_grading_spec(cfg.grading)
    horizon = cfg.monitoring.backtest.horizon_days
    with warehouse.connect() as con:
        outcomes = read_spec_outcomes(con, cfg.resolved_as_of_date(), horizon, spec.monetary)
        scores = spec_backtest(outcomes, horizon)
        replace_tables(con, "evaluation", {"spec_backtest": scores})
    compared = compare_specs(scores)
    context.log.info(
        f"spec backtest: {scores.height} (day, version) pair(s); {compared.height} version(s) against the served grades"
    )
    return dg.MaterializeResult(
        metadata={
            "rows": scores.height,
            "horizon_days": horizon,
            "versions_compared": dg.MetadataValue.md(
                md_table(
                    ["spec version", "graded by", "days", "AUC (grade)", "served AUC", "best-grade lift", "served"],
                    compared.select(
                        "spec_version",
                        "graded_by",
                        "days",
                        pl.col("auc_repeat_grade").round(3),
                        pl.col("served_auc_repeat_grade").round(3),
                        pl.col("best_grade_lift").round(2),
                        pl.col("served_best_grade_lift").round(2),
                    ).rows(),
                )
                if compared.height
                else "no version but the served one graded a backtested day yet"
            ),
        }
    )


@dg.asset_check(
    asset=["evaluation", "backtest_scores"],
    description="The grades' weighted score ranks next-period buyers above non-buyers better than chance "
    "(AUC > 0.5) on the latest backtested day. A warning: tune grading.yml, the run is not stopped.",
)
def grades_predict_better_than_chance(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        rows = con.sql(
            """select as_of_date, auc_repeat, customers from evaluation.backtest_scores
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


@partitioned(
    dg.asset,
    key=["monitoring", "report"],
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
    with replacing(latest) as partial:
        shutil.copyfile(path, partial)
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
