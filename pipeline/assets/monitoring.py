"""The monitoring report asset: after the monitoring models, one HTML page per run under reports_dir/monitoring,
linked from the asset's metadata and tagged on the run."""

import shutil

import dagster as dg

from pipeline.monitoring.report import render_report, summary_markdown
from pipeline.monitoring.report_data import read_report_data
from pipeline.resources import CrmgradeSettings, DuckDBWarehouse

REPORT_TAG = "crmgrade/report"
_READS = [
    ["history", "kpi_history"],
    ["monitoring", "grade_migrations"],
    ["monitoring", "segment_trends"],
    ["monitoring", "kpi_trends"],
    ["monitoring", "dq_trends"],
    ["monitoring", "drift_alerts"],
]


@dg.asset(
    key=["monitoring", "report"],
    group_name="monitoring",
    deps=[dg.AssetKey(k) for k in _READS],
    kinds={"html", "plotly"},
    description="The run's monitoring report: grades and segments, migrations, trends, data quality and drift "
    "alerts, as a self-contained HTML page (reports_dir/monitoring/report_<as-of>_<run>.html, and latest.html).",
)
def monitoring_report(context: dg.AssetExecutionContext, settings: CrmgradeSettings, warehouse: DuckDBWarehouse):
    cfg = settings.load()
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
