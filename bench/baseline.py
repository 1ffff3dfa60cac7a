"""The hand-written baseline (bench/baseline.sql) and the check that it grades as crmgrade does.

python -m bench.baseline --root SOURCES --as-of 2026-06-30 --out baseline.duckdb   # what the benchmark times
python -m bench.baseline ... --compare warehouse.duckdb                              # and then compares

The baseline is what a team would otherwise write: one SQL file over the exports. Its only preparation is what
DuckDB cannot do offline: the GBK Tmall exports are transcoded to UTF-8 and the dealer workbooks written as CSV
(DuckDB's `encodings` and `excel` extensions are downloads). Both are timed as part of the baseline.

The comparison: crmgrade resolves identity with probabilistic matching, the baseline by exact identifiers, so
their customers differ where matching joined more. Grades are compared on the customers whose records are the
same in both (the same orders and the same registry rows); there every grade, score and R/F/M value must agree,
but for a dimension scored by quintiles of the profile's customers (grading.yml's B2B money): those customers are
others where matching joined more, so a value on a cut point may score one quintile apart; such a customer (same
values, its grade following its scores) is counted apart, `quantile_population`.
The orders themselves (after cleaning) must agree everywhere: same orders, same amounts, same status.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

SQL = Path(__file__).with_name("baseline.sql")
GBK_EXPORTS = "marketplaces/tmall/*.csv"  # data/contracts/tmall.yml: encoding gbk
WORKBOOKS = "dealers/*.xlsx"  # data/contracts/dealer_reports.yml: header on row 3
WORKBOOK_HEADER_ROW = 3


def prepare(root: Path, prepared: Path) -> int:
    """Transcode the GBK exports to UTF-8 and write each workbook's sheet as CSV. Returns files written."""
    written = 0
    for path in sorted(root.glob(GBK_EXPORTS)):
        target = prepared / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        with path.open(encoding="gbk", newline="") as src, target.open("w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(1 << 24):
                dst.write(chunk)
        written += 1
    for path in sorted(root.glob(WORKBOOKS)):
        target = (prepared / path.relative_to(root)).with_suffix(".csv")
        target.parent.mkdir(parents=True, exist_ok=True)
        frame = pl.read_excel(path, read_options={"header_row": WORKBOOK_HEADER_ROW - 1}, infer_schema_length=0)
        frame.write_csv(target)
        written += 1
    return written


def run_baseline(root: Path, as_of: date, out: Path) -> dict:
    started = time.perf_counter()
    prepared = out.parent / "baseline_prepared"
    files = prepare(root, prepared)
    prepared_at = time.perf_counter()
    out.unlink(missing_ok=True)
    con = duckdb.connect(str(out))
    try:
        con.execute("set variable root = ?", [str(root)])
        con.execute("set variable prepared = ?", [str(prepared)])
        con.execute("set variable as_of = ?", [as_of])
        con.execute(SQL.read_text(encoding="utf-8"))
        [(lines,)] = con.sql("select count(*) from baseline_order_lines").fetchall()
        [(graded,)] = con.sql("select count(*) from baseline_grades").fetchall()
    finally:
        con.close()
    done = time.perf_counter()
    return {
        "prepare_seconds": round(prepared_at - started, 1),
        "prepared_files": files,
        "sql_seconds": round(done - prepared_at, 1),
        "order_lines_kept": lines,
        "customers_graded": graded,
    }


# Each customer's records in one comparable value: how many, and the XOR of their hashes (order-independent).
_PIPELINE_RECORDS = """
    create temp table pipeline_records as
    select customer_key, 'order:' || source_name || ':' || order_id as record
    from pipe.marts.fct_orders where customer_key is not null
    union all
    select links.customer_key, 'member:' || members.member_id
    from pipe.identity.record_links as links
    inner join pipe.raw.customers as members
        on links.source_name = members._source
        and links.source_file = members._source_file
        and links.source_row_number = members._row_number
    where links.entity = 'customers'
"""
_BASELINE_RECORDS = """
    create temp table baseline_records as
    select customer_key, 'order:' || source || ':' || order_id as record
    from base.baseline_orders where customer_key is not null
    union all
    select coalesce(phone, 'member:' || member_id), 'member:' || member_id from base.baseline_members
"""
_SIGNATURES = """
    create temp table {side}_signatures as
    select customer_key, count(*) as records, bit_xor(hash(record)) as signature
    from {side}_records group by customer_key
"""


def compare(warehouse: Path, baseline: Path) -> dict:
    """How far the baseline's orders and grades agree with the warehouse's (see the module docstring)."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{warehouse}' as pipe (read_only)")
        con.execute(f"attach '{baseline}' as base (read_only)")
        [(only_pipeline, only_baseline, differing)] = con.sql(
            """
            with p as (
                select source_name as source, order_id, order_status, gross_amount, refund_amount, net_amount,
                       ordered_at
                from pipe.marts.fct_orders
            ),
            b as (
                select source, order_id, order_status, gross_amount, refund_amount, net_amount, ordered_at
                from base.baseline_orders
            )
            select
                count(*) filter (where b.order_id is null),
                count(*) filter (where p.order_id is null),
                count(*) filter (where p.order_id is not null and b.order_id is not null and (
                    p.order_status != b.order_status or p.gross_amount != b.gross_amount
                    or p.refund_amount != b.refund_amount or p.net_amount != b.net_amount
                    or p.ordered_at != b.ordered_at))
            from p full join b on p.source = b.source and p.order_id = b.order_id
            """
        ).fetchall()
        con.execute(_PIPELINE_RECORDS)
        con.execute(_BASELINE_RECORDS)
        for side in ("pipeline", "baseline"):
            con.execute(_SIGNATURES.format(side=side))
        con.execute(
            """
            create temp table matched as
            select p.customer_key as pipeline_key, b.customer_key as baseline_key
            from pipeline_signatures as p
            inner join baseline_signatures as b on p.records = b.records and p.signature = b.signature
            """
        )
        # A quantile dimension scores a value by the quintiles of the profile's customers: where the two sides
        # put other records together, the profiles hold other customers, and one value can sit on either side of
        # a cut point. A customer with the same values whose quantile score alone differs is counted apart
        # (quantile_population), when the grade still follows its scores; every other customer must agree.
        [(pipeline_graded, baseline_graded, compared, same_grade, same_scores, same_segment, by_population)] = con.sql(
            """
            with quantile_money as (
                select distinct profile from pipe.intermediate.int_grading__cut_points
                where dimension = 'monetary' and method = 'quantile'
            ),
            pairs as (
                select
                    p.*,
                    b.grade as b_grade,
                    b.segment_cn as b_segment_cn,
                    p.profile = b.profile and p.recency_days = b.recency_days and p.frequency = b.frequency
                        and p.monetary = b.monetary and p.r_score = b.r_score and p.f_score = b.f_score
                        as same_values,
                    p.m_score = b.m_score and p.weighted_score = b.weighted_score as same_money_score,
                    -- the baseline's grade of its scores with the pipeline's quantile score in its place
                    case when round((b.r_score + b.f_score + p.m_score) / 3, 4) >= 4 then 'A'
                        when round((b.r_score + b.f_score + p.m_score) / 3, 4) >= 3 then 'B'
                        when round((b.r_score + b.f_score + p.m_score) / 3, 4) >= 2 then 'C'
                        else 'D' end as b_grade_with_pipeline_quintile,
                    p.profile in (select profile from quantile_money) as money_by_quantile
                from matched
                inner join pipe.marts.customer_grades as p on matched.pipeline_key = p.customer_key
                inner join base.baseline_grades as b on matched.baseline_key = b.customer_key
            ),
            flagged as (
                select
                    *,
                    same_values and not same_money_score and money_by_quantile
                        and b_grade_with_pipeline_quintile = grade as by_population
                from pairs
            )
            select
                (select count(*) from pipe.marts.customer_grades),
                (select count(*) from base.baseline_grades),
                count(*),
                count(*) filter (where grade = b_grade and not by_population),
                count(*) filter (where same_values and same_money_score and not by_population),
                count(*) filter (where segment_cn = b_segment_cn),
                count(*) filter (where by_population)
            from flagged
            """
        ).fetchall()
        examples = con.sql(
            """
            select p.customer_key, b.customer_key as baseline_key, p.profile, b.profile as baseline_profile,
                   p.recency_days, b.recency_days as baseline_recency, p.frequency, b.frequency as baseline_frequency,
                   p.monetary, b.monetary as baseline_monetary, p.grade, b.grade as baseline_grade
            from matched
            inner join pipe.marts.customer_grades as p on matched.pipeline_key = p.customer_key
            inner join base.baseline_grades as b on matched.baseline_key = b.customer_key
            where p.grade != b.grade or p.weighted_score != b.weighted_score
            limit 5
            """
        ).pl()
    finally:
        con.close()
    return {
        "orders_only_in_pipeline": only_pipeline,
        "orders_only_in_baseline": only_baseline,
        "orders_differing": differing,
        "customers_graded_pipeline": pipeline_graded,
        "customers_graded_baseline": baseline_graded,
        "customers_compared": compared,
        "compared_share": round(compared / pipeline_graded, 4) if pipeline_graded else 0.0,
        "same_grade": same_grade,
        "same_scores": same_scores,
        "same_segment": same_segment,
        # same values, a quantile score that differs because the profile's customers differ (see above)
        "quantile_population": by_population,
        "grades_agree": compared > 0 and same_grade == same_scores == compared - by_population,
        "orders_agree": only_pipeline == only_baseline == differing == 0,
        "disagreements": examples.to_dicts(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="the source folder (crmgrade.yml sources.root)")
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--out", type=Path, required=True, help="the baseline's DuckDB file")
    parser.add_argument("--compare", type=Path, default=None, help="a crmgrade warehouse to compare with")
    args = parser.parse_args()
    result = compare(args.compare, args.out) if args.compare else run_baseline(args.root, args.as_of, args.out)
    json.dump(result, sys.stdout, default=str, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
