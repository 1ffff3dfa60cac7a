"""The run's monitoring report: one self-contained HTML file (Plotly's JavaScript inlined once, no network),
and a short Markdown summary for the Dagster asset page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jinja2
import plotly
import plotly.graph_objects as go
import polars as pl
from plotly.offline import get_plotlyjs

from pipeline.grading.shadow import comparison_totals
from pipeline.markdown import md_table
from pipeline.monitoring.report_data import ReportData
from pipeline.monitoring.spec_backtest import compare_specs
from pipeline.whole_files import replacing

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
)
# fonts that have Chinese glyphs first where the system has one (Plotly's default Open Sans has none)
FONT = '"Open Sans", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif'
_LAYOUT = {
    "template": "plotly_white",
    "margin": {"l": 60, "r": 20, "t": 40, "b": 60},
    "height": 380,
    "font": {"family": FONT},
}
DAY_MS = 86_400_000
DAY_FORMAT = "%Y-%m-%d"


def bilingual(en: str, zh: str) -> str:
    """A label in English and Chinese: the report is read by teams in both."""
    return f"{en} · {zh}"


def date_axis(fig: go.Figure, dates: pl.Series) -> None:
    """The x axis in days. Plotly ticks a span of a day or two in hours ("23:59:59.9995"): such a span is
    widened by a day each side and ticked once a day."""
    first, last = dates.min(), dates.max()
    fig.update_xaxes(type="date", tickformat=DAY_FORMAT, hoverformat=DAY_FORMAT)
    if isinstance(first, date) and (last - first).days < 7:
        span = [(first - timedelta(days=1)).isoformat(), (last + timedelta(days=1)).isoformat()]
        fig.update_xaxes(range=span, dtick=DAY_MS, tick0=first.isoformat())


@dataclass
class Chart:
    chart_id: str
    title: str
    caption: str
    figure: go.Figure

    def html(self) -> str:
        self.figure.update_layout(title=self.title, **_LAYOUT)
        return self.figure.to_html(
            include_plotlyjs=False,
            full_html=False,
            div_id=self.chart_id,
            config={"responsive": True, "displaylogo": False},  # fit the grid cell, not the window
        )


def _line_per_group(frame: pl.DataFrame, group: str, y: str) -> list[go.Scatter]:
    """One line over the as-of dates per value of `group`."""
    return [
        go.Scatter(x=part["as_of_date"], y=part[y], mode="lines+markers", name=name)
        for (name,), part in frame.partition_by(group, as_dict=True, maintain_order=True).items()
    ]


def _grade_chart(data: ReportData) -> Chart | None:
    grades = data["grades"]
    if grades is None:
        return None
    fig = go.Figure(
        [
            go.Bar(name="share of customers", x=grades["grade"], y=grades["share_of_customers"]),
            go.Bar(name="share of revenue", x=grades["grade"], y=grades["share_of_revenue"]),
        ]
    )
    fig.update_layout(barmode="group", yaxis_tickformat=".0%", xaxis_type="category")
    return Chart(
        "chart-grades",
        bilingual("Grades", "客户等级"),
        f"Share of customers and of revenue ({data.currency}) per grade on the report's date.",
        fig,
    )


def _segment_chart(data: ReportData) -> Chart | None:
    segments = data["segments"]
    if segments is None:
        return None
    segments = segments.sort("customers")
    fig = go.Figure(go.Bar(x=segments["customers"], y=segments["segment_en"], orientation="h"))
    return Chart("chart-segments", bilingual("Segments", "客户细分"), "Customers per RFM segment.", fig)


def _classic_segment_chart(data: ReportData) -> Chart | None:
    """The eight classic RFM segments, named in Chinese with the English beside (reference.rfm_segments_cn)."""
    segments = data["segments_cn"]
    if segments is None:
        return None
    segments = segments.sort("customers")
    names = [
        f"{cn} {en}" if en else cn for cn, en in zip(segments["segment_cn"], segments["segment_cn_en"], strict=True)
    ]
    fig = go.Figure(go.Bar(x=segments["customers"], y=names, orientation="h"))
    return Chart(
        "chart-segments-cn",
        bilingual("The eight RFM segments", "RFM 八类客户"),
        "Customers per classic RFM segment (重要价值客户 ... 一般挽留客户): recency, frequency and monetary each "
        "above or below its split.",
        fig,
    )


def _nearest_migrations(data: ReportData) -> pl.DataFrame | None:
    """The day's grade moves against the nearest earlier date it has: the previous graded day, else 30d or 90d."""
    moves = data["migrations"]
    if moves is None:
        return None
    horizon = next(h for h in ("previous", "30d", "90d") if h in moves["horizon"].to_list())
    return moves.filter(pl.col("horizon") == horizon)


def _migration_chart(data: ReportData) -> Chart | None:
    moves = _nearest_migrations(data)
    if moves is None:
        return None
    since = moves["compared_with_date"][0]
    grid = moves.pivot(on="to_value", index="from_value", values="customers", aggregate_function="sum").fill_null(0)
    grid = grid.sort("from_value")
    columns = sorted(c for c in grid.columns if c != "from_value")
    z = grid.select(columns).to_numpy()
    fig = go.Figure(
        go.Heatmap(
            z=z, x=columns, y=grid["from_value"], colorscale="Blues", text=z, texttemplate="%{text}", hoverongaps=False
        )
    )
    fig.update_layout(
        xaxis_title=f"grade on {data.as_of_date}", yaxis_title=f"grade on {since}", yaxis_autorange="reversed"
    )
    return Chart(
        "chart-migrations",
        bilingual(f"Grade migrations since {since}", "等级迁移"),
        "Customers by grade then (rows) and now (columns).",
        fig,
    )


MIGRATION_CAUSES = ["behaviour", "identity", "data_correction", "spec_change"]


def _migration_cause_chart(data: ReportData) -> Chart | None:
    """Customers whose grade changed, split by why (grade_migrations.cause): did the customer change, or did our
    matching, our data or our spec?"""
    moves = _nearest_migrations(data)
    if moves is None:
        return None
    changed = moves.filter(pl.col("from_value") != pl.col("to_value"))
    if changed.is_empty():
        return None
    since = changed["compared_with_date"][0]
    per_cause = dict(changed.group_by("cause").agg(pl.col("customers").sum()).iter_rows())
    causes = [c for c in MIGRATION_CAUSES if c in per_cause] + sorted(set(per_cause) - set(MIGRATION_CAUSES))
    fig = go.Figure(go.Bar(x=causes, y=[per_cause[c] for c in causes], text=[per_cause[c] for c in causes]))
    fig.update_layout(xaxis_title="cause", yaxis_title="customers changing grade")
    return Chart(
        "chart-migration-causes",
        bilingual(f"Why grades changed since {since}", "等级变化原因"),
        "Customers whose grade changed, by cause: behaviour (orders, refunds, time), identity (merged or split by "
        "identity resolution), data_correction (a file of their orders replaced), spec_change (another grading spec).",
        fig,
    )


def _trend_chart(data: ReportData) -> Chart | None:
    trends = data["segment_trends"]
    if trends is None:
        return None
    fig = go.Figure(_line_per_group(trends, "segment_en", "share_of_customers"))
    fig.update_layout(yaxis_tickformat=".0%")
    date_axis(fig, trends["as_of_date"])
    return Chart(
        "chart-segment-trends",
        bilingual("Segment shares over time", "细分占比趋势"),
        "Share of graded customers per segment.",
        fig,
    )


def _kpi_chart(data: ReportData) -> Chart | None:
    kpis = data["kpi_trends"]
    if kpis is None:
        return None
    fig = go.Figure(
        [
            go.Scatter(x=kpis["as_of_date"], y=kpis[c], mode="lines+markers", name=c.replace("_", " "))
            for c in ("repeat_rate", "churn_rate", "high_churn_risk_rate")
        ]
    )
    fig.update_layout(yaxis_tickformat=".0%")
    date_axis(fig, kpis["as_of_date"])
    return Chart(
        "chart-kpi-trends",
        bilingual("KPIs over time", "指标趋势"),
        "Repeat rate (复购率), churn rate (流失率) and high churn risk share (高流失风险占比).",
        fig,
    )


def _dq_chart(data: ReportData) -> Chart | None:
    dq = data["dq"]
    if dq is None:
        return None
    fig = go.Figure(_line_per_group(dq, "source_name", "quarantine_rate"))
    fig.update_layout(yaxis_tickformat=".1%")
    date_axis(fig, dq["as_of_date"])
    return Chart(
        "chart-dq",
        bilingual("Quarantine rate per source", "各来源隔离率"),
        "Rows quarantined / rows read, per delivery date and source.",
        fig,
    )


def _alert_chart(data: ReportData) -> Chart | None:
    alerts = data["alerts"]
    if alerts is None:
        return None
    counts = alerts.group_by("as_of_date", "alert_type").len().sort("as_of_date")
    fig = go.Figure(
        [
            go.Bar(x=part["as_of_date"], y=part["len"], name=kind)
            for (kind,), part in counts.partition_by("alert_type", as_dict=True, maintain_order=True).items()
        ]
    )
    fig.update_layout(barmode="stack")
    date_axis(fig, counts["as_of_date"])
    return Chart(
        "chart-alerts",
        bilingual("Drift alerts per date", "漂移预警"),
        "Alerts raised on each graded date, by kind.",
        fig,
    )


def _backtest_lift_chart(data: ReportData) -> Chart | None:
    grades = data["backtest_grades"]
    if grades is None:
        return None
    day, horizon = grades["as_of_date"][0], grades["horizon_days"][0]
    fig = go.Figure(
        [
            go.Bar(
                name="realised",
                x=grades["grade"],
                y=grades["revenue_per_customer"],
                text=[f"lift {v:.2f}" if v is not None else "" for v in grades["lift"]],
                textposition="outside",
            ),
            go.Bar(name="predicted (CLV pro rata)", x=grades["grade"], y=grades["predicted_per_customer"]),
        ]
    )
    fig.update_layout(
        barmode="group", yaxis_title=f"revenue per customer, {horizon} days ({data.currency})", xaxis_type="category"
    )
    return Chart(
        "chart-backtest-lift",
        bilingual(f"Backtest: grades of {day}, the {horizon} days after", "回测"),
        "Revenue per customer each grade of that day brought in the following days, its lift over the day's "
        "average, and the CLV predicted that day for the same span.",
        fig,
    )


def _backtest_score_chart(data: ReportData) -> Chart | None:
    scores = data["backtest_scores"]
    if scores is None:
        return None
    fig = go.Figure(_line_per_group(scores, "score", "auc_repeat"))
    fig.add_hline(y=0.5, line_dash="dot", annotation_text="chance")
    fig.update_layout(yaxis_title="AUC: buyers ranked above non-buyers", xaxis_title="graded day")
    date_axis(fig, scores["as_of_date"])
    return Chart(
        "chart-backtest-auc",
        bilingual("Backtest: does the score predict who buys again?", "评分能否预测复购"),
        "Per backtested day and score, the chance a customer who bought in the horizon scored above one who did "
        "not (0.5 = chance, 1 = perfect). Compare the lines after changing grading.yml.",
        fig,
    )


CHARTS = [
    _grade_chart,
    _segment_chart,
    _classic_segment_chart,
    _migration_chart,
    _migration_cause_chart,
    _trend_chart,
    _kpi_chart,
    _dq_chart,
    _alert_chart,
    _backtest_lift_chart,
    _backtest_score_chart,
]


def build_charts(data: ReportData) -> list[Chart]:
    return [chart for build in CHARTS if (chart := build(data)) is not None]


def _number(value) -> str | None:
    """A cut point as shown: whole numbers without decimals (days, yuan, counts), others to two places."""
    if value is None:
        return None
    value = float(value)
    return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"


def cut_point_rows(cut_points: pl.DataFrame | None) -> list[dict]:
    """One row per profile and dimension: the cut point of each score (2..5) and the previous graded day's."""
    if cut_points is None:
        return []
    rows = []
    for (profile, dimension, method), group in cut_points.group_by(
        ["profile", "dimension", "method"], maintain_order=True
    ):
        first = group.row(0, named=True)
        rows.append(
            {
                "profile": profile,
                "dimension": dimension,
                "method": method,
                "cuts": {
                    r["score"]: (_number(r["cut_point"]), _number(r["previous_cut_point"]))
                    for r in group.rows(named=True)
                },
                "previous_date": first["previous_date"],
                "customers_ranked": first["customers_ranked"],
                "customers_excluded": first["customers_excluded"],
            }
        )
    return rows


def render_report(data: ReportData, path: Path) -> list[str]:
    """Write the HTML report to `path`; returns the ids of the charts it holds."""
    charts = build_charts(data)
    alerts = data["alerts"]
    latest_alerts = alerts.filter(pl.col("as_of_date") == data.as_of_date) if alerts is not None else None
    html = _TEMPLATES.get_template("report.html.j2").render(
        as_of_date=data.as_of_date,
        run_id=data.run_id,
        currency=data.currency,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        plotly_js=get_plotlyjs(),
        plotly_version=plotly.__version__,
        kpis=data["kpis"].row(0, named=True) if data["kpis"] is not None else None,
        clv_fits=data["clv_fits"].rows(named=True) if data["clv_fits"] is not None else [],
        charts=[(c, c.html()) for c in charts],
        alerts=latest_alerts.rows(named=True) if latest_alerts is not None else [],
        earlier_alerts=alerts.height - latest_alerts.height if alerts is not None else 0,
        dq_rules=data["dq_rules"].head(15).rows(named=True) if data["dq_rules"] is not None else [],
        backtest=data["backtest_grades"].rows(named=True) if data["backtest_grades"] is not None else [],
        offers=data["backtest_recommendations"].rows(named=True)
        if data["backtest_recommendations"] is not None
        else [],
        shadow=comparison_totals(data["shadow"].rows(named=True)) if data["shadow"] is not None else None,
        cut_points=cut_point_rows(data["cut_points"]),
        campaigns=data["campaigns"].head(12).rows(named=True) if data["campaigns"] is not None else [],
        memberships=data["memberships"].head(12).rows(named=True) if data["memberships"] is not None else [],
        spec_comparison=compare_specs(data["spec_backtest"]).rows(named=True)
        if data["spec_backtest"] is not None
        else [],
    )
    with replacing(path) as partial:  # a reader never sees half a report
        partial.write_text(html, encoding="utf-8")
    return [c.chart_id for c in charts]


def summary_markdown(data: ReportData) -> str:
    """The asset page's summary: grades, alerts of the day, where the rows went."""
    parts = [f"**As of {data.as_of_date}**"]
    if (grades := data["grades"]) is not None:
        parts.append(
            md_table(
                ["grade", "customers", "share", f"avg CLV ({data.currency})"],
                grades.select(
                    "grade", "customers", pl.col("share_of_customers").round(3), pl.col("average_clv").round(0)
                ).rows(),
            )
        )
    alerts = data["alerts"]
    today = alerts.filter(pl.col("as_of_date") == data.as_of_date) if alerts is not None else None
    if today is not None and today.height:
        parts.append(f"**{today.height} drift alert(s)**\n\n" + "\n".join(f"- {e}" for e in today["evidence"][:10]))
    else:
        parts.append("No drift alert on this date.")
    if (scores := data["backtest_scores"]) is not None:
        latest = scores.filter(pl.col("as_of_date") == scores["as_of_date"].max())
        figures = ", ".join(
            f"{r['score']} AUC {r['auc_repeat']:.3f}" for r in latest.rows(named=True) if r["auc_repeat"] is not None
        )
        parts.append(f"Backtest of {latest['as_of_date'][0]}: {figures or 'no buyer and non-buyer to compare'}.")
    return "\n\n".join(parts)
