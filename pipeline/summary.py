"""The end-of-run summary: rows per source, customers per grade, where the warehouse and reports are."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from pipeline.contracts.schema import ENTITIES


def collect(warehouse: Path) -> dict:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        union = " union all ".join(
            f"select '{e}' as entity, _source as source, count(*) as n, count(_parse_errors) as unparsed"
            f" from raw.{e} group by 2"
            for e in ENTITIES
        )
        sources = con.execute(f"select entity, source, n, unparsed from ({union}) order by entity, source").fetchall()
        files = con.execute("select status, count(*) from raw._ingest_manifest group by 1 order by 1").fetchall()
        grades = con.execute(
            "select grade, count(*), round(sum(monetary), 2) from marts.customer_grades group by 1 order by 1"
        ).fetchall()
        as_of = con.execute("select max(as_of_date) from marts.customer_grades").fetchone()[0]
        customers = con.execute("select count(*) from marts.fct_customer").fetchone()[0]
    finally:
        con.close()
    return {"sources": sources, "files": files, "grades": grades, "as_of": as_of, "customers": customers}


def render(summary: dict, warehouse: Path, reports_dir: Path) -> str:
    lines = [
        "# crmgrade run summary",
        "",
        f"Finished {datetime.now():%Y-%m-%d %H:%M:%S}.",
        "",
        "## Rows per source",
        "",
        "| entity | source | rows | rows with unparsed values |",
        "|---|---|---:|---:|",
    ]
    lines += [f"| {e} | {s} | {n:,} | {u:,} |" for e, s, n, u in summary["sources"]]
    lines += [
        "",
        "Files in the manifest: " + ", ".join(f"{n} {status}" for status, n in summary["files"]),
        "",
        f"## Customers per grade (as of {summary['as_of']})",
        "",
        "| grade | customers | net spend (CNY) |",
        "|---|---:|---:|",
    ]
    lines += [f"| {g} | {n:,} | {m:,.2f} |" for g, n, m in summary["grades"]]
    graded = sum(n for _, n, _ in summary["grades"])
    lines += [
        "",
        f"{summary['customers']:,} customers in marts.fct_customer, {graded:,} graded.",
        "",
        f"Warehouse: {warehouse}",
        f"Reports:   {reports_dir}",
    ]
    return "\n".join(lines) + "\n"


def write_summary(warehouse: Path, reports_dir: Path) -> tuple[str, Path]:
    text = render(collect(warehouse), warehouse, reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / "run_summary.md"
    path.write_text(text, encoding="utf-8")
    return text, path
