"""The monitoring report: every chart it holds is drawn by Plotly in headless Chromium, offline."""

import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline.monitoring.report import build_charts, render_report, summary_markdown
from pipeline.monitoring.report_data import ReportData

DAYS = [date(2026, 7, 1), date(2026, 7, 2), date(2026, 7, 3)]


def full_report_data() -> ReportData:
    as_of = DAYS[-1]
    grades = ["A", "B", "C", "D"]
    segments = ["Champions", "Loyal", "Lost"]
    return ReportData(
        as_of,
        "run-1",
        {
            "kpis": pl.DataFrame(
                {
                    "customers": [100],
                    "revenue": [12345.0],
                    "repeat_rate": [0.4],
                    "churn_rate": [0.1],
                    "average_clv": [800.0],
                }
            ),
            "grades": pl.DataFrame(
                {
                    "grade": grades,
                    "customers": [10, 20, 30, 40],
                    "share_of_customers": [0.1, 0.2, 0.3, 0.4],
                    "share_of_revenue": [0.5, 0.3, 0.15, 0.05],
                    "average_clv": [3000.0, 900.0, 300.0, 20.0],
                }
            ),
            "segments": pl.DataFrame(
                {
                    "segment_en": segments,
                    "customers": [30, 50, 20],
                    "share_of_customers": [0.3, 0.5, 0.2],
                    "revenue": [1.0, 2.0, 3.0],
                }
            ),
            "segments_cn": pl.DataFrame(
                {
                    "segment_cn": ["重要价值客户", "一般挽留客户"],
                    "segment_cn_en": ["Important value", "General win-back"],
                    "customers": [40, 60],
                    "share_of_customers": [0.4, 0.6],
                    "revenue": [9.0, 1.0],
                }
            ),
            "migrations": pl.DataFrame(
                {
                    "horizon": ["previous"] * 5,
                    "compared_with_date": [DAYS[1]] * 5,
                    "from_value": ["A", "A", "A", "B", "(new)"],
                    "to_value": ["A", "B", "B", "B", "C"],
                    "cause": ["behaviour", "behaviour", "identity", "behaviour", "behaviour"],
                    "customers": [9, 1, 2, 20, 3],
                }
            ),
            "segment_trends": pl.DataFrame(
                {
                    "as_of_date": [d for d in DAYS for _ in segments],
                    "segment_en": segments * 3,
                    "share_of_customers": [0.3, 0.5, 0.2] * 3,
                    "customers": [30, 50, 20] * 3,
                }
            ),
            "kpi_trends": pl.DataFrame(
                {
                    "as_of_date": DAYS,
                    "customers": [98, 99, 100],
                    "revenue": [1.0, 2.0, 3.0],
                    "repeat_rate": [0.4] * 3,
                    "churn_rate": [0.1] * 3,
                    "average_clv": [800.0] * 3,
                    "high_churn_risk_rate": [0.2] * 3,
                }
            ),
            "dq": pl.DataFrame(
                {
                    "as_of_date": DAYS,
                    "source_name": ["tmall"] * 3,
                    "rows_read": [100, 90, 110],
                    "rows_quarantined": [1, 0, 2],
                    "rows_duplicate": [0, 0, 0],
                    "quarantine_rate": [0.01, 0.0, 0.018],
                }
            ),
            "dq_rules": pl.DataFrame(
                {
                    "source_name": ["tmall"],
                    "rule": ["amount__to_be_between"],
                    "on_failure": ["quarantine"],
                    "rows_checked": [110],
                    "rows_failing": [2],
                    "failure_rate": [0.018],
                }
            ),
            "alerts": pl.DataFrame(
                {
                    "as_of_date": [as_of, DAYS[1]],
                    "alert_type": ["source_nulls", "grade_change"],
                    "subject": ["tmall.phone", "grade"],
                    "observed": [1.0, 0.3],
                    "expected": [0.0, 0.0],
                    "threshold": [0.2, 0.25],
                    "evidence": ["tmall.phone was empty in 100.0% of rows <b>", "30 of 90"],
                }
            ),
            "backtest_grades": pl.DataFrame(
                {
                    "as_of_date": [date(2026, 4, 1)] * 4,
                    "horizon_days": [90] * 4,
                    "grade": grades,
                    "customers": [10, 20, 30, 40],
                    "buyers": [8, 10, 6, 2],
                    "repeat_rate": [0.8, 0.5, 0.2, 0.05],
                    "revenue_per_customer": [900.0, 300.0, 80.0, 5.0],
                    "lift": [3.9, 1.3, 0.35, 0.02],
                    "predicted_per_customer": [800.0, 350.0, None, 10.0],
                }
            ),
            "backtest_scores": pl.DataFrame(
                {
                    "as_of_date": [date(2026, 3, 31)] * 2 + [date(2026, 4, 1)] * 2,
                    "score": ["p_alive", "weighted_score"] * 2,
                    "customers": [100] * 4,
                    "buyers": [26] * 4,
                    "auc_repeat": [0.71, 0.78, 0.7, 0.8],
                    "gini_revenue": [0.5, 0.6, 0.5, 0.61],
                }
            ),
        },
        currency="EUR",
    )


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Chromium is not installed: `make test` installs Debian's chromium package (apt-get)")
    return path


def rendered_dom(html: Path, window: str = "1250,2000") -> str:
    """The page's DOM after its scripts ran, from headless Chromium with the network off, in a window as wide as
    a laptop's (two charts a row)."""
    out = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--proxy-server=127.0.0.1:9",
            f"--window-size={window}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            html.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out.stdout


def test_every_chart_of_the_report_is_drawn_in_headless_chromium(tmp_path):
    path = tmp_path / "report.html"
    charts = render_report(full_report_data(), path)
    assert charts == [
        "chart-grades",
        "chart-segments",
        "chart-segments-cn",
        "chart-migrations",
        "chart-migration-causes",
        "chart-segment-trends",
        "chart-kpi-trends",
        "chart-dq",
        "chart-alerts",
        "chart-backtest-lift",
        "chart-backtest-auc",
    ]
    source = path.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", source)  # self-contained: no script fetched from anywhere
    dom = rendered_dom(path)
    for chart in charts:
        # Plotly marks a div it has drawn with js-plotly-plot and puts its SVG layers inside.
        match = re.search(rf'<div id="{chart}" class="[^"]*js-plotly-plot[^"]*"', dom)
        assert match, f"{chart} was not drawn"
        drawn = dom[match.end() : match.end() + 200_000]
        assert 'class="main-svg"' in drawn, f"{chart} has no SVG"
    assert dom.count('class="main-svg"') >= len(charts)
    # Every chart is drawn as wide as its cell: the first one was drawn the width of the whole row (the cells
    # after it were not parsed yet) and clipped to half of it, grades C and D cut off.
    widths = {
        chart: float(
            re.search(r'class="main-svg"[^>]*width="([\d.]+)"', dom[dom.index(f'<div id="{chart}"') :]).group(1)
        )
        for chart in charts
    }
    assert len(set(widths.values())) == 1 and 500 < widths["chart-grades"] < 700, widths
    grades = dom[dom.index('<div id="chart-grades"') :][:200_000]
    assert [t for t in ("A", "B", "C", "D") if f'data-unformatted="{t}"' in grades] == ["A", "B", "C", "D"]
    heatmap = dom[dom.index('id="chart-migrations"') :]
    assert "heatmaplayer" in heatmap[:200_000]
    # the changes split by cause: A->B by behaviour (1) and the new C (3), A->B by identity (2)
    causes = json.loads(re.search(r'"chart-migration-causes",\s*(\[.*?\]),\s*\{', source, flags=re.S).group(1))
    assert dict(zip(causes[0]["x"], causes[0]["y"], strict=True)) == {"behaviour": 4, "identity": 2}
    assert '<td>A</td><td class="num">10</td>' in source and "3.90" in source  # the backtest table
    # Evidence is text, never markup.
    assert "100.0% of rows &lt;b&gt;" in dom


def test_a_first_run_reports_what_it_has_and_says_what_is_missing(tmp_path):
    data = full_report_data()
    for name in ("migrations", "alerts", "segment_trends", "backtest_grades", "backtest_scores"):
        data.sections[name] = None
    charts = render_report(data, tmp_path / "r.html")
    assert "chart-migrations" not in charts and "chart-alerts" not in charts
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "No drift alert on this date." in html and "No graded day is old enough to backtest yet" in html
    summary = summary_markdown(data)
    assert "| A | 10 | 0.1 | 3,000 |" in summary and "No drift alert" in summary


def test_the_summary_lists_the_days_alerts():
    summary = summary_markdown(full_report_data())
    assert "**1 drift alert(s)**" in summary and "tmall.phone was empty" in summary
    assert "30 of 90" not in summary  # an earlier day's alert
    assert "Backtest of 2026-04-01: p_alive AUC 0.700, weighted_score AUC 0.800." in summary


def test_the_cut_points_of_the_day_are_shown_with_the_previous_days_where_they_moved(tmp_path):
    data = full_report_data()
    scores = [2, 3, 4, 5]
    data.sections["cut_points"] = pl.DataFrame(
        {
            "profile": ["default"] * 8,
            "dimension": ["monetary"] * 4 + ["recency"] * 4,
            "method": ["quantile"] * 4 + ["thresholds"] * 4,
            "score": scores * 2,
            "cut_point": [120.5, 800.0, 2500.0, 12000.0, 365.0, 180.0, 90.0, 30.0],
            "previous_date": [DAYS[1]] * 8,
            "previous_cut_point": [120.5, 750.0, 2500.0, 11000.0, 365.0, 180.0, 90.0, 30.0],
            "customers_ranked": [990] * 4 + [None] * 4,
            "customers_excluded": [10] * 4 + [None] * 4,
        }
    )
    render_report(data, tmp_path / "r.html")
    text = " ".join(re.sub(r"<[^>]+>", " ", (tmp_path / "r.html").read_text(encoding="utf-8")).split())
    assert f"Cut points on {DAYS[-1]}" in text
    # a quantile cut point that moved shows what it was; one that held does not
    assert "default monetary quantile 120.50 800 (was 750) 2,500 12,000 (was 11,000) 990 10" in text
    assert "default recency thresholds 365 180 90 30" in text


def test_no_cut_point_table_before_a_day_is_graded(tmp_path):
    data = full_report_data()
    data.sections["cut_points"] = None
    render_report(data, tmp_path / "r.html")
    assert "Cut points on" not in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_a_candidate_spec_is_set_beside_the_served_grades_of_the_days_it_graded(tmp_path):
    data = full_report_data()
    day = date(2026, 3, 1)
    common = {"as_of_date": [day, day], "horizon_days": [90, 90], "customers": [6, 6], "buyers": [2, 2]}
    data.sections["spec_backtest"] = pl.DataFrame(
        {
            **common,
            "spec_version": ["served1", "cand1"],
            "graded_by": ["served", "shadow"],
            "auc_repeat_grade": [0.5, 1.0],
            "gini_revenue_grade": [0.1, 0.9],
            "auc_repeat_score": [0.5, 1.0],
            "gini_revenue_score": [0.1, 0.9],
            "best_grade": ["A", "A"],
            "best_grade_lift": [0.0, 3.0],
        }
    )
    render_report(data, tmp_path / "r.html")
    text = " ".join(re.sub(r"<[^>]+>", " ", (tmp_path / "r.html").read_text(encoding="utf-8")).split())
    assert "Which grading spec predicted better" in text
    assert "cand1 shadow 1 1.000 0.500 0.900 0.100 3.00 0.00" in text


def test_one_graded_day_is_shown_in_days_not_hours():
    """With one date Plotly ticked hours around it ("23:59:59.9995"); the axis spans a day each side instead."""
    data = full_report_data()
    day = DAYS[-1]
    data.sections["kpi_trends"] = data.sections["kpi_trends"].filter(pl.col("as_of_date") == day)
    charts = {c.chart_id: c for c in build_charts(data)}
    axis = charts["chart-kpi-trends"].figure.layout.xaxis
    assert (axis.type, axis.tickformat, axis.dtick) == ("date", "%Y-%m-%d", 86_400_000)
    assert tuple(axis.range) == ("2026-07-02", "2026-07-04")
    # three days and more: Plotly's own range, still labelled in days
    trends = charts["chart-segment-trends"].figure.layout.xaxis
    assert (trends.tickformat, trends.dtick) == ("%Y-%m-%d", 86_400_000) and tuple(trends.range) == (
        "2026-06-30",
        "2026-07-04",
    )
    many = full_report_data()
    many.sections["dq"] = pl.DataFrame(
        {
            "as_of_date": [date(2026, 5, 1), date(2026, 7, 3)],
            "source_name": ["tmall", "tmall"],
            "rows_read": [1, 1],
            "rows_quarantined": [0, 0],
            "rows_duplicate": [0, 0],
            "quarantine_rate": [0.0, 0.0],
        }
    )
    dq_axis = {c.chart_id: c for c in build_charts(many)}["chart-dq"].figure.layout.xaxis
    assert (dq_axis.tickformat, dq_axis.range, dq_axis.dtick) == ("%Y-%m-%d", None, None)


def test_amounts_carry_the_currency_and_labels_are_in_chinese_too(tmp_path):
    data = full_report_data()  # graded in EUR
    render_report(data, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "revenue · 销售额 12,345 EUR" in text and "average CLV · 平均客户终身价值 800 EUR" in text
    assert "revenue per customer (EUR)" in text and "churn rate · 流失率 10.0%" in text
    assert "| grade | customers | share | avg CLV (EUR) |" in summary_markdown(data)
    charts = {c.chart_id: c for c in build_charts(data)}
    assert charts["chart-grades"].title == "Grades · 客户等级"
    classic = charts["chart-segments-cn"].figure.data[0]
    # smallest first: the horizontal bars read top down from the largest
    assert list(classic.y) == ["重要价值客户 Important value", "一般挽留客户 General win-back"]
    assert list(classic.x) == [40, 60]
    lift = charts["chart-backtest-lift"].figure.layout.yaxis.title.text
    assert lift == "revenue per customer, 90 days (EUR)"


def test_each_campaign_shows_its_uplift_interval_and_roi_and_none_without_campaigns(tmp_path):
    data = full_report_data()
    data.sections["campaigns"] = pl.DataFrame(
        {
            "campaign_id": ["K2", "K1"],
            "campaign_name": [None, "春季会员日"],
            "campaign_date": [date(2026, 5, 1), date(2026, 3, 1)],
            "window_days": [30, 30],
            "comparison": ["matched_non_targeted", "holdout"],
            "targeted_customers": [3, 3000],
            "response_rate": [1 / 3, 0.125],
            "matched_customers": [2, 3000],
            "estimate": ["insufficient data", "estimated"],
            "uplift_per_customer": [None, 120.0],
            "uplift_ci_low": [None, 32.35],
            "uplift_ci_high": [None, 207.65],
            "incremental_revenue": [None, 360000.0],
            "incremental_margin": [None, 90000.0],
            "cost": [None, 300000.0],
            "roi_basis": [None, "margin"],
            "roi": [None, 0.2],
            "roi_ci_low": [None, -0.89],
            "roi_ci_high": [None, 1.08],
        }
    )
    render_report(data, tmp_path / "r.html")
    text = " ".join(re.sub(r"<[^>]+>", " ", (tmp_path / "r.html").read_text(encoding="utf-8")).split())
    assert "Did the campaigns work? · 营销活动效果" in text and "in the 30 days before and after" in text
    # two measured customers are no evidence either way: no estimate is shown; a ROI comes with its interval
    assert "K2 2026-05-01 matched untargeted 3 33.3% 2 insufficient data K1" in text
    # the ROI says what it is on: margin where the goods have a cost, else revenue
    k1 = (
        "K1 春季会员日 2026-03-01 holdout 3,000 12.5% 3,000 120.00 32.35 … 207.65 360,000 300,000 20% (-89% … 108%) "
        "on margin"
    )
    assert k1 in text
    assert f"uplift per customer ({data.currency})" in text and data.currency == "EUR"

    data.sections["campaigns"] = None
    render_report(data, tmp_path / "r.html")
    assert "Did the campaigns work?" not in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_the_recommendations_of_the_backtested_day_are_set_against_the_segments_habit(tmp_path):
    data = full_report_data()
    data.sections["backtest_recommendations"] = pl.DataFrame(
        {
            "as_of_date": [date(2026, 4, 1)] * 3,
            "horizon_days": [90] * 3,
            "basis": ["all", "co_purchase", "segment_popular"],
            "customers": [1200, 1000, 500],
            "recommendations": [3000, 2000, 1000],
            "hit_rate": [0.05, 0.06, 0.03],
            "customer_hit_rate": [0.11, 0.1, 0.06],
            "chance_hit_rate": [0.025, 0.02, None],
            "lift": [2.0, 3.0, None],
        }
    )
    render_report(data, tmp_path / "r.html")
    text = " ".join(re.sub(r"<[^>]+>", " ", (tmp_path / "r.html").read_text(encoding="utf-8")).split())
    assert "The products recommended on 2026-04-01" in text and "in the 90 days after" in text
    assert "all 1,200 3,000 5.0% 11.0% 2.5% 2.00 co_purchase 1,000 2,000 6.0% 10.0% 2.0% 3.00" in text
    assert "segment_popular 500 1,000 3.0% 6.0% " in text


def test_each_month_of_joining_shows_what_membership_did_to_spend(tmp_path):
    data = full_report_data()
    data.sections["memberships"] = pl.DataFrame(
        {
            "cohort_month": [date(2026, 3, 1), date(2026, 2, 1)],
            "window_days": [90, 90],
            "joined": [320, 278],
            "targeted_customers": [205, 167],
            "matched_customers": [205, 0],
            "estimate": ["estimated", "insufficient data"],
            "uplift_per_customer": [112.9, None],
            "uplift_ci_low": [-93.6, None],
            "uplift_ci_high": [319.3, None],
            "incremental_revenue": [23144.7, None],
        }
    )
    render_report(data, tmp_path / "r.html")
    text = " ".join(re.sub(r"<[^>]+>", " ", (tmp_path / "r.html").read_text(encoding="utf-8")).split())
    assert "Did joining the loyalty programme pay? · 会员权益效果" in text and "in the 90 days before and after" in text
    assert "2026-03 320 205 205 112.90 -93.60 … 319.30 23,145 2026-02 278 167 0 insufficient data" in text


def test_customers_whose_clv_fit_did_not_converge_are_counted_under_the_kpis(tmp_path):
    data = full_report_data()
    render_report(data, tmp_path / "r.html")
    assert "CLV from a fit that did not converge" not in (tmp_path / "r.html").read_text(encoding="utf-8")
    data.sections["clv_fits"] = pl.DataFrame({"fitted_on": ["all", "b2b"], "customers": [1234, 56]})
    render_report(data, tmp_path / "r.html")
    text = " ".join(re.sub(r"<[^>]+>", " ", (tmp_path / "r.html").read_text(encoding="utf-8")).split())
    assert (
        "CLV from a fit that did not converge: 1,234 customers predicted by the 'all' fit, 56 customers predicted by "
        "the 'b2b' fit (marts.customer_clv.clv_fit)" in text
    )
