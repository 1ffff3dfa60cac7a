"""Read what the report shows from the warehouse: one query per section, each None when its table is missing
(a first run has no migrations yet; a run stopped before dbt has no grades)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

# Section -> query; every query takes the report's as-of date as its only parameter (? or $1).
_QUERIES = {
    "kpis": """select * from history.kpi_history where as_of_date = ? and breakdown = 'all'""",
    # customers whose CLV came from a fit that did not converge (marts.customer_clv.clv_fit), per fit
    "clv_fits": """select fitted_on, count(*) as customers from marts.customer_clv
        where as_of_date = ? and clv_fit = 'did not converge' group by 1 order by 1""",
    "grades": """select breakdown_value as grade, customers, share_of_customers, share_of_revenue, average_clv
        from history.kpi_history where as_of_date = ? and breakdown = 'grade' order by grade""",
    "segments": """select en.breakdown_value as segment_en, en.customers, en.share_of_customers, en.revenue
        from history.kpi_history as en where en.as_of_date = ? and en.breakdown = 'segment_en'
        order by en.customers desc""",
    # the classic eight RFM segments (重要价值客户 ... 一般挽留客户) with their English names (the reference seed)
    "segments_cn": """select cn.breakdown_value as segment_cn, names.segment_cn_en, cn.customers, cn.share_of_customers,
            cn.revenue
        from history.kpi_history as cn
        left join (select distinct segment_cn, segment_cn_en from reference.rfm_segments_cn) as names
            on cn.breakdown_value = names.segment_cn
        where cn.as_of_date = ? and cn.breakdown = 'segment_cn'
        order by cn.customers desc""",
    "migrations": """select horizon, compared_with_date, from_value, to_value, cause, customers
        from monitoring.grade_migrations where as_of_date = ? and dimension = 'grade'""",
    "segment_trends": """select as_of_date, value as segment_en, share_of_customers, customers
        from monitoring.segment_trends where dimension = 'segment_en' and as_of_date <= ? order by 1, 2""",
    "kpi_trends": """select as_of_date, customers, revenue, repeat_rate, churn_rate, average_clv, high_churn_risk_rate
        from monitoring.kpi_trends where as_of_date <= ? order by 1""",
    "dq": """select as_of_date, source_name, rows_checked as rows_read, rows_failing as rows_quarantined,
            rows_duplicate, failure_rate as quarantine_rate
        from monitoring.dq_trends where rule = '(all rules)' and as_of_date <= ? order by 1, 2""",
    "dq_rules": """select source_name, rule, on_failure, rows_checked, rows_failing, failure_rate
        from monitoring.dq_trends where as_of_date = ? and rule != '(all rules)' and rows_failing > 0
        order by rows_failing desc, source_name, rule""",
    "alerts": """select as_of_date, alert_type, subject, observed, expected, threshold, evidence
        from monitoring.drift_alerts where as_of_date <= ? order by as_of_date desc, alert_type, subject""",
    # the latest graded day whose horizon has passed, per grade
    "backtest_grades": """select as_of_date, horizon_days, group_value as grade, customers, buyers, repeat_rate,
            revenue_per_customer, lift, predicted_revenue / customers_predicted as predicted_per_customer
        from evaluation.backtest_groups
        where grouped_by = 'grade' and as_of_date = (
            select max(as_of_date) from evaluation.backtest_groups where as_of_date < ?)
        order by grade""",
    # the same day's recommendations against what their customers bought, per basis
    "backtest_recommendations": """select as_of_date, horizon_days, basis, customers, recommendations, hit_rate,
            customer_hit_rate, chance_hit_rate, lift
        from evaluation.backtest_recommendations
        where as_of_date = (select max(as_of_date) from evaluation.backtest_recommendations where as_of_date < ?)
        order by case basis when 'all' then 0 else 1 end, basis""",
    "backtest_scores": """select as_of_date, score, customers, buyers, auc_repeat, gini_revenue
        from evaluation.backtest_scores where as_of_date < ? order by 1, 2""",
    # the cut points the day was scored by, beside the previous graded day's (drift_alerts watches the change)
    "cut_points": """with today as (
            select * from history.grade_cut_points where as_of_date = $1
        ),
        previous as (
            select * from history.grade_cut_points
            where as_of_date = (select max(as_of_date) from history.grade_cut_points where as_of_date < $1)
        )
        select today.profile, today.dimension, today.method, today.score, today.cut_point,
            previous.as_of_date as previous_date, previous.cut_point as previous_cut_point,
            today.customers_ranked, today.customers_excluded
        from today left join previous using (profile, dimension, score)
        order by today.profile, today.dimension, today.score""",
    # a candidate spec graded beside the live one (crmgrade.yml shadow_grading), the day's grade pairs
    "shadow": """select live_spec_version, shadow_spec_version, live_grade, shadow_grade, customers
        from evaluation.shadow_grade_comparison where as_of_date = ? order by live_grade, shadow_grade""",
    # what each campaign whose after-window has passed did to its customers' spend (newest first)
    "campaigns": """select campaign_id, campaign_name, campaign_date, window_days, comparison, targeted_customers,
            response_rate, matched_customers, estimate, uplift_per_customer, uplift_ci_low, uplift_ci_high,
            incremental_revenue, incremental_margin, cost, roi_basis, roi, roi_ci_low, roi_ci_high
        from monitoring.campaign_effect where breakdown = 'all' and campaign_date < ?
        order by campaign_date desc, campaign_id""",
    # what joining the loyalty programme did to spend, per month of joining (newest first)
    "memberships": """select cohort_month, window_days, joined, targeted_customers, matched_customers, estimate,
            uplift_per_customer, uplift_ci_low, uplift_ci_high, incremental_revenue
        from monitoring.membership_effect where breakdown = 'all' and cohort_month < ?
        order by cohort_month desc""",
    # every spec version that graded a backtested day (served, shadow, regrade), for which predicted better
    "spec_backtest": """select * from evaluation.spec_backtest where as_of_date < ? order by as_of_date""",
}


@dataclass
class ReportData:
    as_of_date: date
    run_id: str
    sections: dict[str, pl.DataFrame | None]
    currency: str = "CNY"  # grading.yml's: every amount the report shows is in it

    def __getitem__(self, name: str) -> pl.DataFrame | None:
        frame = self.sections.get(name)
        return frame if frame is not None and frame.height else None


def read_report_data(con: duckdb.DuckDBPyConnection, as_of_date: date, run_id: str) -> ReportData:
    sections: dict[str, pl.DataFrame | None] = {}
    for name, sql in _QUERIES.items():
        try:
            sections[name] = con.sql(sql, params=[as_of_date]).pl()
        except duckdb.CatalogException:  # the model has not been built in this warehouse yet
            sections[name] = None
    try:
        [(currency,)] = con.execute("select any_value(currency) from grading_spec.settings").fetchall()
    except duckdb.CatalogException:  # a warehouse that never loaded the grading spec
        currency = None
    return ReportData(as_of_date, run_id, sections, currency or "CNY")
