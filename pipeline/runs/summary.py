"""The end-of-run summary: rows per source, customers per grade, where the warehouse and reports are."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from pipeline.contracts.schema import ENTITIES
from pipeline.quality.explain import why_nothing_graded
from pipeline.quality.reconcile import latest_stopped_files

SUMMARY_FILE = "run_summary.md"  # in reports_dir


def collect(warehouse: Path) -> dict:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        union = " union all ".join(
            f"select '{e}' as entity, _source as source, count(*) as n from raw.{e} group by 2" for e in ENTITIES
        )
        sources = con.execute(
            f"""with loaded as ({union}),
                quarantined as (
                    select entity, source, count(distinct (file, row_number)) as n from dq.quarantine group by all
                ),
                duplicates as (select entity, source, count(*) as n from dq.duplicate_rows group by all)
            select entity, source, coalesce(l.n, 0), coalesce(q.n, 0), coalesce(d.n, 0)
            from loaded l full join quarantined q using (entity, source) full join duplicates d using (entity, source)
            order by entity, source"""
        ).fetchall()
        rules = con.execute(
            "select source, rule, count(*) from dq.quarantine group by all order by source, count(*) desc"
        ).fetchall()
        stopped = latest_stopped_files(con)
        files = con.execute("select status, count(*) from raw._ingest_manifest group by 1 order by 1").fetchall()
        grades = con.execute(
            """select breakdown_value, customers, revenue, average_clv, high_churn_risk_rate
            from marts.grade_summary where breakdown = 'grade' order by breakdown_value"""
        ).fetchall()
        provisional = con.execute(
            """select summary.revenue, summary.net_revenue_provisional, settings.monetary_basis,
                      settings.return_window_days
               from marts.grade_summary as summary cross join grading_spec.settings as settings
               where summary.breakdown = 'all'"""
        ).fetchall()
        recency_methods = con.execute(
            "select breakdown_value, customers from marts.grade_summary where breakdown = 'recency_method' order by 1"
        ).fetchall()
        as_of = con.execute("select max(as_of_date) from marts.customer_grades").fetchall()[0][0]
        # a run that graded nobody and still finished: a company with no sales (clv_assets stops on any other cause)
        nobody_graded = why_nothing_graded(con) if as_of is None else None
        [(currency,)] = con.execute("select currency from grading_spec.settings").fetchall()
        customers = con.execute("select count(*) from marts.fct_customer").fetchall()[0][0]
        stages = con.execute(
            "select lifecycle_stage, count(*) from marts.fct_customer group by 1 order by 2 desc"
        ).fetchall()
        identity = con.execute(
            """select count(*), count(distinct customer_key), count(*) filter (where link_rule = 'match'),
                      count(*) filter (where link_rule = 'masked_phone')
               from identity.record_links"""
        ).fetchall()[0]
        # why probabilistic matching did not run on the latest resolution, if it did not
        matching_skipped = _optional(
            con, "select matching_skipped from identity.runs where mode = 'full' order by resolved_at desc limit 1"
        )
        alerts = _optional(
            con,
            """select alert_type, subject, evidence from monitoring.drift_alerts
            where as_of_date = (select max(as_of_date) from marts.customer_grades) order by alert_type, subject""",
        )
        backtest = _optional(
            con,
            """select as_of_date, horizon_days, score, auc_repeat, gini_revenue from evaluation.backtest_scores
            where as_of_date = (select max(as_of_date) from evaluation.backtest_scores) order by score""",
        )
        offers = _optional(
            con,
            """select as_of_date, hit_rate, chance_hit_rate, lift from evaluation.backtest_recommendations
            where basis = 'all' and as_of_date = (select max(as_of_date) from evaluation.backtest_recommendations)""",
        )
        unconverged = _optional(
            con,
            """select fitted_on, count(*) from marts.customer_clv where clv_fit = 'did not converge'
            group by 1 order by 1""",
        )
        # customers of a profile (other than 'default') predicted by the fit over everyone: too few repeat
        # buyers of their own, so their CLV follows mostly other profiles' behaviour
        pooled = _optional(
            con,
            """select profile, count(*) from marts.customer_clv
            where fitted_on = 'all' and profile != 'default' group by 1 order by 1""",
        )
        outbox = _optional(
            con,
            """select b.destination, b.events, b.file, s.as_of_date from activation.state as s
            left join activation.batches as b on b.run_id = s.run_id order by b.destination""",
        )
    finally:
        con.close()
    present = {entity for entity, *_ in sources}
    return {
        "absent": [e for e in ENTITIES if e not in present],
        "alerts": alerts,
        "backtest": backtest,
        "offers": offers,
        "outbox": outbox,
        "unconverged": unconverged,
        "pooled": pooled,
        "sources": sources,
        "rules": rules,
        "stopped": stopped,
        "files": files,
        "grades": grades,
        "recency_methods": recency_methods,
        "provisional": provisional[0] if provisional else None,
        "as_of": as_of,
        "currency": currency,
        "customers": customers,
        "stages": stages,
        "identity": identity,
        "matching_skipped": matching_skipped[0][0] if matching_skipped else None,
        "nobody_graded": nobody_graded,
    }


def clv_fit_lines(unconverged: list[tuple[str, int]] | None, pooled: list[tuple[str, int]] | None = None) -> list[str]:
    """Warnings on the CLVs: customers predicted by a fit that did not converge ((fit, customers) pairs), and
    customers of a profile too small for a fit of its own, predicted by the fit over everyone ((profile,
    customers) pairs: e.g. a B2B profile whose CLV then follows the retail buyers' habits)."""
    lines = []
    if pooled:
        profiles = ", ".join(f"{n:,} of profile {profile}" for profile, n in pooled)
        lines += [
            "",
            f"**CLV from the fit over everyone**: {profiles}, too few repeat buyers for a fit of their own "
            "(clv.min_repeat_customers): their CLV follows mostly other profiles' buying "
            "(marts.customer_clv.fitted_on = 'all').",
        ]
    if not unconverged:
        return lines
    fits = ", ".join(f"{n:,} predicted by the '{fit}' fit" for fit, n in unconverged)
    return lines + [
        "",
        f"**CLV from a fit that did not converge**: {fits} (marts.customer_clv.clv_fit; what was done: the clv "
        "step's fit_notes, marts.clv_model_params). Read those CLVs with care.",
    ]


def matching_lines(skipped: str | None) -> list[str]:
    """Loud when probabilistic matching did not run: then one person seen by two sources with no identifier in
    common stays two customers."""
    if not skipped:
        return []
    return ["", f"**Probabilistic matching did not run**: {skipped} (identity.runs.matching_skipped)."]


def _optional(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple] | None:
    """Rows of a monitoring table, or None when the run has not built it (it stopped before monitoring)."""
    try:
        return con.execute(sql).fetchall()
    except duckdb.CatalogException:
        return None


def render(summary: dict, warehouse: Path, reports_dir: Path) -> str:
    lines = [
        "# crmgrade run summary",
        "",
        f"Finished {datetime.now():%Y-%m-%d %H:%M:%S}.",
        "",
        "## Rows per source",
        "",
        "| entity | source | rows loaded | rows quarantined | duplicates removed |",
        "|---|---|---:|---:|---:|",
    ]
    lines += [f"| {e} | {s} | {n:,} | {q:,} | {d:,} |" for e, s, n, q, d in summary["sources"]]
    if summary["absent"]:
        lines += [
            "",
            f"No data for {', '.join(summary['absent'])}: no contract maps them, or their files held no rows. Their "
            "tables are empty, and the fact-table columns they feed are empty or zero (the grades use what exists).",
        ]
    if summary.get("nobody_graded"):
        lines[4:4] = [f"**Nobody was graded**: {summary['nobody_graded']}. Customers are resolved and published.", ""]
    lines += ["", "Files in the manifest: " + ", ".join(f"{n} {status}" for status, n in summary["files"])]
    if summary["rules"]:
        lines += ["", "## Quarantined rows by rule (details: dq.quarantine)", "", "| source | rule | rows |"]
        lines += ["|---|---|---:|", *(f"| {s} | {r} | {n:,} |" for s, r, n in summary["rules"])]
    if summary["stopped"]:
        lines += ["", "## Files stopped (not loaded; an earlier version stays)", ""]
        lines += [f"- {s} {f} ({status}): {message}" for s, f, status, message in summary["stopped"]]
    lines += (
        []
        if summary.get("nobody_graded")
        else [
            "",
            f"## Customers per grade (as of {summary['as_of']})",
            "",
            f"| grade | customers | net spend ({summary['currency']}) | average CLV ({summary['currency']}) "
            "| high churn risk |",
            "|---|---:|---:|---:|---:|",
        ]
    )
    lines += [
        f"| {g} | {n:,} | {m or 0:,.2f} | {clv or 0:,.2f} | {risk or 0:.1%} |"
        for g, n, m, clv, risk in summary["grades"]
    ]
    graded = sum(row[1] for row in summary["grades"])
    if summary["provisional"] and summary["provisional"][1]:
        revenue, open_net, basis, window = summary["provisional"]
        share = f" ({open_net / revenue:.1%} of the net spend above)" if basis == "net" and revenue else ""
        lines += [
            "",
            f"Provisional: {open_net:,.2f} {summary['currency']} of net spend{share} comes from purchases of the "
            f"last {window} days, "
            "whose return window is still open; refunds may yet lower it (customer_grades.monetary_net_provisional).",
        ]
    lines += clv_fit_lines(summary.get("unconverged"), summary.get("pooled"))
    if any(method != "days" for method, _ in summary["recency_methods"]):
        judged = ", ".join(f"{n:,} by {method.replace('_', ' ')}" for method, n in summary["recency_methods"])
        lines += ["", f"Recency judged: {judged} (marts.customer_grades.recency_method; docs/grading.md)."]
    records, keys, matched, masked = summary["identity"]
    stages = ", ".join(f"{n:,} {stage}" for stage, n in summary["stages"])
    lines += [
        "",
        f"{summary['customers']:,} customers in marts.fct_customer ({stages}), {graded:,} graded.",
        f"Identity: {records:,} person records -> {keys:,} customers; {matched:,} records reached their "
        f"customer through a Splink match, {masked:,} through the masked-phone rule (identity.record_links).",
    ]
    lines += matching_lines(summary.get("matching_skipped"))
    lines += _monitoring_lines(summary)
    report = reports_dir / "monitoring" / "latest.html"
    lines += [
        "",
        f"Warehouse: {warehouse}",
        f"Reports:   {reports_dir}",
        *([f"Monitoring report: {report}"] if report.exists() else []),
    ]
    return "\n".join(lines) + "\n"


def _monitoring_lines(summary: dict) -> list[str]:
    lines = []
    if summary["alerts"] is not None and summary["as_of"] is not None:
        lines += ["", f"## Drift alerts on {summary['as_of']} (monitoring.drift_alerts)", ""]
        lines += [f"- {kind} {subject}: {evidence}" for kind, subject, evidence in summary["alerts"]] or ["None."]
    if summary["backtest"]:
        day, horizon = summary["backtest"][0][:2]
        scores = ", ".join(
            f"{score} AUC {area:.3f}" for _, _, score, area, _ in summary["backtest"] if area is not None
        )
        lines += ["", f"Backtest of the grades of {day} against the {horizon} days after: {scores or 'no AUC'}."]
        for offered_on, hit_rate, chance, lift in summary["offers"] or []:
            habit = f", {chance:.1%} by the segment's habit (lift {lift:.2f})" if lift is not None else ""
            lines += [f"Recommendations of {offered_on}: {hit_rate:.1%} of the products offered were bought{habit}."]
    elif summary["backtest"] is not None:
        lines += ["", "Backtest: no graded day is old enough yet (monitoring.backtest.horizon_days)."]
    if summary["outbox"]:
        sent = [(d, n, f) for d, n, f, _ in summary["outbox"] if d is not None]
        lines += ["", f"## Outbox of {summary['outbox'][0][3]} (activation.events, docs/activation.md)", ""]
        lines += [f"- {d}: {n:,} events -> {f or 'not written yet'}" for d, n, f in sent] or [
            "No customer entered or left a membership an action watches since the last delivery."
        ]
    return lines


def write_summary(warehouse: Path, reports_dir: Path, gone: list = ()) -> tuple[str, Path]:
    """The summary of a run that succeeded; `gone`: the loaded files no longer in the source folder
    (pipeline/ingest/withdraw.py GoneFile)."""
    text = render(collect(warehouse), warehouse, reports_dir)
    if gone:
        lines = ["", "## Files gone from the source folder (their rows stay loaded)", ""]
        lines += [f"- {g.source} {g.file}: {g.rows_loaded:,} rows in raw.{g.entity}" for g in gone]
        lines += ["", "`crmgrade source withdraw FILE` takes a file's rows out; a file put back is judged again."]
        marker = "\nWarehouse: "
        text = text.replace(marker, "\n".join(lines) + "\n" + marker, 1)
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / SUMMARY_FILE
    path.write_text(text, encoding="utf-8")
    return text, path


def write_failure_summary(
    reports_dir: Path,
    run_id: str,
    gate_messages: list[str],
    failed_steps: list[tuple[str, str]],
    stopped: list[tuple[str, str, str, str]],
) -> tuple[str, Path]:
    """A failed run's summary, in place of the last good run's (which would read as this run's): why it stopped,
    the quarantine gate first (pipeline/quality/gate.py), then the failed steps and the files stopped."""
    lines = ["# crmgrade run FAILED", "", f"Run {run_id}, finished {datetime.now():%Y-%m-%d %H:%M:%S}.", ""]
    if gate_messages:
        lines += ["## Sources stopped: most of their rows were quarantined", ""]
        lines += [f"- {m}" for m in gate_messages] + [""]
    if failed_steps:
        lines += ["## Failed steps", ""]
        lines += [f"- {step}: {message}" for step, message in failed_steps] + [""]
    if stopped:
        lines += ["## Files stopped (not loaded; an earlier version stays)", ""]
        lines += [f"- {s} {f} ({status}): {message}" for s, f, status, message in stopped] + [""]
    lines += ["Nothing was published: the serving copy BI tools read is the last successful run's."]
    text = "\n".join(lines) + "\n"
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / SUMMARY_FILE
    path.write_text(text, encoding="utf-8")
    return text, path


def stopped_files(warehouse: Path, run_id: str) -> list[tuple[str, str, str, str]]:
    """The files a run rejected or could not read, with the reason: what a failed run prints."""
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error:
        return []
    try:
        return con.execute(
            "select source, file, status, message from dq.reconciliation"
            " where run_id = ? and status in ('rejected', 'unreadable') order by source, file",
            [run_id],
        ).fetchall()
    except duckdb.CatalogException:
        return []
    finally:
        con.close()
