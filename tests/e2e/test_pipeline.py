"""End to end: the real Dagster assets materialized into a temporary DuckDB file (the shared first run of
tests/e2e/conftest.py, copied for this module), then read, run again from the CLI, and checked against the
demo's truth."""

import json
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from pipeline.contracts.schema import ENTITIES
from pipeline.grading.versions import spec_files, version_of
from tests.conftest import DEMO_AS_OF, REPO
from tests.e2e.pipeline_runs import materialize, query

pytestmark = pytest.mark.slow

TRUTH_SOURCE = {  # truth's source name -> contract source name
    "members": "members",
    "tmall": "tmall",
    "jd": "jd",
    "pdd": "pdd",
    "pos": "pos",
    "dealer": "dealer_reports",
    "interactions": "interactions",
    "service": "service",
    "surveys": "surveys",
    "campaign_responses": "marketing",
    "leads": "crm_b2b",
    "opportunities": "crm_b2b",
}


def test_every_source_row_is_loaded_quarantined_or_a_counted_duplicate(first_run, run_env):
    _, warehouse = run_env
    truth = pl.read_parquet(first_run.sources / "truth/records.parquet")
    expected: dict[str, int] = {}
    for source, n in truth.group_by("source").len().iter_rows():
        expected[TRUTH_SOURCE[source]] = expected.get(TRUTH_SOURCE[source], 0) + n
    expected["marketing"] += 16  # the 16 campaigns themselves are not records about a person
    union = " union all ".join(f"select _source, count(*) as n from raw.{e} group by 1" for e in ENTITIES)
    loaded = dict(query(warehouse, f"select _source, sum(n)::bigint from ({union}) group by 1"))
    quarantined = dict(
        query(warehouse, "select source, count(distinct (file, row_number)) from dq.quarantine group by 1")
    )
    duplicates = dict(query(warehouse, "select source, count(*) from dq.duplicate_rows group by 1"))
    got = {s: loaded.get(s, 0) + quarantined.get(s, 0) + duplicates.get(s, 0) for s in expected}
    assert got == expected
    assert query(warehouse, "select count(*) from dq.reconciliation where not balanced") == [(0,)]
    read = query(warehouse, "select sum(rows_read)::bigint from dq.reconciliation")[0][0]
    assert read == sum(expected.values())
    nulls = query(
        warehouse,
        "select count(*) from raw.orders where _source is null or _source_file is null or _row_number is null"
        " or _file_sha256 is null or _ingested_at is null",
    )
    assert nulls == [(0,)]
    # Lineage points at the truth: every raw order row is a truth row of the same file and row number.
    raw = pl.DataFrame(
        query(warehouse, "select _source_file, _row_number from raw.orders"),
        schema=["file", "row_number"],
        orient="row",
    )
    joined = raw.join(truth.select("file", "row_number"), on=["file", "row_number"], how="anti")
    assert joined.height == 0


def test_quarantine_and_duplicates_are_exactly_the_planted_dirty_rows(first_run, run_env):
    _, warehouse = run_env
    dirty = (
        pl.read_parquet(first_run.sources / "truth/dirty_rows.parquet")
        .with_columns(pl.col("source").replace(TRUTH_SOURCE))
        .select("source", "file", "row_number", "defect")
    )
    keys = ["source", "file", "row_number"]
    quarantined = pl.DataFrame(
        query(warehouse, "select distinct source, file, row_number from dq.quarantine"), schema=keys, orient="row"
    )
    duplicates = pl.DataFrame(
        query(warehouse, "select source, file, row_number from dq.duplicate_rows"), schema=keys, orient="row"
    )
    planted_bad = dirty.filter(pl.col("defect") != "exact_duplicate").select(keys)
    planted_dups = dirty.filter(pl.col("defect") == "exact_duplicate").select(keys)
    assert planted_bad.height > 0 and planted_dups.height > 0
    assert sorted(quarantined.rows()) == sorted(planted_bad.rows())
    assert sorted(duplicates.rows()) == sorted(planted_dups.rows())
    # One query traces a quarantined row back to its file, line, rule and the record as it was read.
    source, file, row = planted_bad.row(0)
    traced = query(
        warehouse,
        f"select rule, reason, record from dq.quarantine where source = '{source}' and file = '{file}'"
        f" and row_number = {row}",
    )
    assert traced and all(rule and reason and record for rule, reason, record in traced)


def test_grades_cover_every_purchasing_customer(first_run, run_env):
    _, warehouse = run_env
    grades = dict(query(warehouse, "select grade, count(*) from marts.customer_grades group by 1"))
    assert set(grades) == {"A", "B", "C", "D"}
    purchasing = query(warehouse, "select count(*) from marts.fct_customer where lifetime_frequency > 0")[0][0]
    assert sum(grades.values()) == purchasing > 0
    # Scores (grading.yml scores R, F, M by thresholds): every score used, and equal values share a score.
    assert [r for (r,) in query(warehouse, "select distinct r_score from marts.customer_grades order by 1")] == [
        1,
        2,
        3,
        4,
        5,
    ]
    split_ties = query(
        warehouse,
        """select profile, recency_days, typical_gap_days from marts.customer_grades
        group by all having count(distinct r_score) > 1""",
    )
    assert not split_ties
    # The companies' profile judges recency by cadence (days since the last purchase / typical gap), the rest by
    # days; customers long after a purchase but within their usual wait keep R5, and every cadence-judged
    # customer's R score is the count of the profile's thresholds their ratio reaches.
    methods = dict(
        query(warehouse, "select recency_method, count(distinct profile) from marts.customer_grades group by 1")
    )
    assert set(methods) == {"days", "own_cadence", "default_cadence"}
    assert query(warehouse, "select distinct profile from marts.customer_grades where recency_method != 'days'") == [
        ("b2b_low_frequency",)
    ]
    [(within_usual_wait, wrongly_scored)] = query(
        warehouse,
        """with thresholds as (
            select threshold from grading_spec.thresholds
            where profile = 'b2b_low_frequency' and dimension = 'recency'
        )
        select count(distinct customer_key) filter (where recency_days >= 120 and r_score = 5),
            count(distinct customer_key) filter (where r_score != 1 + (
                select count(*) from thresholds where round(recency_days / typical_gap_days, 4) <= threshold
            ))
        from marts.customer_grades where recency_method != 'days'""",
    )
    assert within_usual_wait > 0 and wrongly_scored == 0
    # The companies' money is scored by quintiles of their own customers, not by the retail cut-offs (which
    # scored almost every company M5): every score is used and none holds much more than its fifth.
    money = dict(
        query(
            warehouse,
            "select m_score, count(*) from marts.customer_grades where profile = 'b2b_low_frequency' group by 1",
        )
    )
    assert set(money) == {1, 2, 3, 4, 5} and max(money.values()) <= 0.3 * sum(money.values()), money
    segments = query(
        warehouse,
        "select count(distinct segment_cn), count(*) filter (where segment_en is null) from marts.customer_grades",
    )[0]
    assert segments[1] == 0 and segments[0] >= 6
    # KPIs: the 'all' row and the per-grade rows count the same customers and revenue
    kpis = query(
        warehouse,
        """select breakdown, sum(customers), sum(revenue) from marts.grade_summary
        where breakdown in ('all', 'grade') group by 1 order by 1""",
    )
    assert kpis[0][1:] == kpis[1][1:] and kpis[0][1] == purchasing
    # churn: the share of each grade's customers whose last purchase is older than their profile's churn_after_days
    from pipeline.grading.spec import load_grading_spec

    churn_after = load_grading_spec(REPO / "grading.yml").churn_after_days_by_profile()
    graded = query(warehouse, "select grade, profile, recency_days from marts.customer_grades")
    expected_churn: dict[str, list[bool]] = {}
    for grade, profile, recency in graded:
        for key in (grade, "all"):
            expected_churn.setdefault(key, []).append(recency > churn_after[profile])
    churn = dict(
        query(
            warehouse,
            "select breakdown_value, churn_rate from marts.grade_summary where breakdown in ('all', 'grade')",
        )
    )
    assert churn == pytest.approx({k: sum(v) / len(v) for k, v in expected_churn.items()})
    assert 0 < churn["all"] < 1 and churn["D"] > churn["A"]  # the worst grade churns more than the best
    # Grades are as of the configured date.
    assert query(warehouse, "select distinct as_of_date::varchar from marts.customer_grades") == [(DEMO_AS_OF,)]
    # The day's history names the spec version that graded it, kept with its files' text.
    expected = version_of(spec_files(REPO / "grading.yml", REPO / "rules.yml"))
    assert query(warehouse, "select distinct spec_version from history.grade_history") == [(expected.version,)]
    [(files,)] = query(warehouse, f"select files from grading_spec.versions where spec_version = '{expected.version}'")
    assert json.loads(files) == expected.files
    # The cut points the day was scored by: four per profile and dimension, kept in history with the version.
    cut_points = query(
        warehouse,
        """select profile, dimension, count(*), count(distinct score), min(spec_version), max(spec_version)
        from history.grade_cut_points group by all""",
    )
    dimensions = query(warehouse, "select count(distinct (profile, dimension)) from grading_spec.dimensions")[0][0]
    assert len(cut_points) == dimensions and all(
        n == 4 and scores == 4 and low == high == expected.version for _, _, n, scores, low, high in cut_points
    )


def test_checks_ran_blocking_ones_passed_and_quarantines_warned(first_run):
    checks = first_run.check_evaluations()
    dbt_checks = [c for c in checks if c.asset_key.path[0] != "raw"]
    assert len(dbt_checks) >= 20
    assert all(c.passed for c in dbt_checks), [c.check_name for c in dbt_checks if not c.passed]
    raw = {(c.asset_key.path[1], c.check_name): c for c in checks if c.asset_key.path[0] == "raw"}
    assert all(raw[(e, "reconciliation")].passed for e in ENTITIES)
    failed = {k for k, c in raw.items() if not c.passed}
    # Planted defects fail row-level (WARN) checks only: future order dates, unparseable values, bad e-mails.
    assert ("orders", "ordered_at__to_be_between") in failed and ("customers", "email__to_match_regex") in failed
    assert all(raw[k].severity == dg.AssetCheckSeverity.WARN for k in failed), failed


def test_cli_rerun_adds_no_rows_gives_the_same_grades_and_prints_the_summary(
    first_run, run_env, capsys, monkeypatch, tmp_path
):
    """Also the concurrent reader: a second process queries the serving copy while this run publishes."""
    import subprocess
    import sys

    from pipeline.cli import main

    config, warehouse = run_env
    serving = config.parent / "serving"
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    before = query(warehouse, "select count(*) from raw.orders")[0][0]
    grades_before = query(warehouse, "select customer_key, grade from marts.customer_grades order by 1")
    first_version = query(serving / "warehouse.duckdb", "select version from bi.published_version")[0][0]
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "serving_reader.py"), str(serving), str(stop), "100"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        code = main(["run", "--config", str(config)])
    finally:
        stop.touch()
        lines, errors = reader.communicate(timeout=120)
    assert code == 0
    answers = [json.loads(line) for line in lines.splitlines()]
    assert reader.returncode == 0, errors
    assert len(answers) >= 100 and [a for a in answers if "error" in a] == []
    assert all(a["consistent"] for a in answers), [a for a in answers if not a["consistent"]]
    assert all(a["version"] == a["parquet_version"] for a in answers if not a["switched"])
    # the reader saw the old version, then the new one: the switch happened while it read, and it never blocked
    seen = list(dict.fromkeys(a["version"] for a in answers))
    assert seen[0] == first_version and len(seen) == 2, seen
    out = capsys.readouterr().out
    assert "| orders | tmall |" in out and "Customers per grade" in out and f"Warehouse: {warehouse}" in out
    assert "Recency judged:" in out and "by own cadence" in out
    assert (config.parent / "reports" / "run_summary.md").exists()
    # where the time went: every step timed, the dbt steps together as one stage
    timings = json.loads((config.parent / "reports" / "run_timings.json").read_text(encoding="utf-8"))
    assert "Time per stage: " in out and {"ingest", "identity", "dbt", "serving"} <= set(timings["stage_seconds"])
    assert all(t["succeeded"] for t in timings["steps"]) and "other" not in timings["stage_seconds"]
    # the day's drift alerts (one line each, or "None."), the backtest's state and the report's path
    alerts = query(warehouse, f"select count(*) from monitoring.drift_alerts where as_of_date = '{DEMO_AS_OF}'")[0][0]
    section = out.split(f"## Drift alerts on {DEMO_AS_OF}")[1].split("\n\n")[1]
    listed = [line for line in section.splitlines() if line.startswith("- ")]
    assert len(listed) == alerts if alerts else section.strip() == "None."
    assert "Backtest: no graded day is old enough yet" in out  # the run's own day is its only graded day
    assert f"Monitoring report: {config.parent / 'reports' / 'monitoring' / 'latest.html'}" in out
    assert query(warehouse, "select count(*) from raw.orders")[0][0] == before
    assert query(warehouse, "select customer_key, grade from marts.customer_grades order by 1") == grades_before

    # the same grades and tags again: the outbox got no event and no file from this run (idempotent)
    run_id = timings["run_id"]
    assert query(warehouse, f"select count(*) from activation.events where run_id = '{run_id}'") == [(0,)]
    assert query(warehouse, f"select count(*) from activation.batches where run_id = '{run_id}'") == [(0,)]
    assert f"## Outbox of {DEMO_AS_OF}" in out and "No customer entered or left a membership" in out
    # once more, nothing changed since that run: it is not run again, and says so
    timings_written = (config.parent / "reports" / "run_timings.json").stat().st_mtime_ns
    assert main(["run", "--config", str(config)]) == 0
    again = capsys.readouterr().out
    assert f"Nothing changed since run {run_id}" in again and "--force runs anyway" in again
    assert (config.parent / "reports" / "run_timings.json").stat().st_mtime_ns == timings_written
    assert query(warehouse, "select run_id from operations.run_inputs") == [(run_id,)]
    # every schema the runs wrote is in the registry (pipeline/warehouse_schemas.py)
    from pipeline.warehouse_schemas import is_known

    written = query(
        warehouse,
        "select schema_name from duckdb_tables() union select schema_name from duckdb_views() where not internal",
    )
    assert {"raw", "operations", "bi"} <= {s for (s,) in written}
    assert [s for (s,) in written if not is_known(s)] == []


def test_the_serving_copy_is_published_documented_and_holds_no_personal_data_in_clear(first_run, run_env):
    import os
    import re

    import polars as pl

    from pipeline.serving.masking import PATTERNS

    config, warehouse = run_env
    serving = config.parent / "serving"
    mat = first_run.materializations("serving__published")[0]
    version = mat.metadata["version"].value
    assert (serving / "versions" / version / "warehouse.duckdb").exists()  # the CLI rerun may have published since
    newest = sorted(p.name for p in (serving / "versions").iterdir())[-1]
    assert os.path.realpath(serving / "current") == str((serving / "versions" / newest).resolve())
    copy = duckdb.connect(str(serving / "warehouse.duckdb"), read_only=True)
    try:
        tables = dict(copy.sql("select table_name, comment from duckdb_tables() where schema_name = 'bi'").fetchall())
        assert {"customers", "customer_grades", "customer_tags", "customer_recommendations", "customer_clv"} <= set(
            tables
        )
        assert {"grade_summary", "kpi_trends", "grade_migrations", "drift_alerts", "backtest_scores"} <= set(tables)
        assert all(tables.values()), "every bi table is described"
        assert copy.sql(
            "select count(*) from duckdb_schemas() where schema_name not in ('bi', 'main', "
            "'information_schema', 'pg_catalog')"
        ).fetchall() == [(0,)], "only the bi schema is copied"
        # every text column of every table: no phone or e-mail in clear (the same scan over the marts finds them)
        text = copy.sql(
            "select table_name, column_name from duckdb_columns() where schema_name = 'bi' and data_type = 'VARCHAR'"
        ).fetchall()
        values = {
            (t, c): [v for (v,) in copy.sql(f'select distinct "{c}" from bi."{t}" where "{c}" is not null').fetchall()]
            for t, c in text
        }
        customers = copy.sql("select count(*), count(phone), count(email) from bi.customers").fetchall()[0]
    finally:
        copy.close()
    leaks = [(t, c, v) for (t, c), vs in values.items() for v in vs for p in PATTERNS.values() if re.search(p, v)]
    assert leaks == []
    assert customers[1] > 0 and customers[2] > 0  # the masked columns are there, not emptied
    assert re.fullmatch(r"1[3-9][0-9]\*{4}[0-9]{4}", values[("customers", "phone")][0])
    for parquet in (serving / "parquet").glob("*.parquet"):
        frame = pl.read_parquet(parquet)
        for column in [c for c, t in frame.schema.items() if t == pl.String]:
            for p in PATTERNS.values():
                assert not frame[column].str.contains(p).any(), f"{parquet.name}.{column} matches {p}"
    in_marts = query(warehouse, "select count(*) from marts.dim_customer where phone like '+861%'")[0][0]
    assert in_marts > 0, "the working warehouse keeps the phones: the scan above could have found them"


def test_validation_pages_are_written_and_linked_from_the_asset(first_run, run_env):
    mat = first_run.materializations("raw__orders")
    index = Path(mat[0].metadata["validation_report"].value)
    assert index.exists() and "tmall" in index.read_text(encoding="utf-8")
    pages = list((index.parent / "orders").glob("*.html"))
    assert pages, "GE Data Docs pages for the orders batches"
    text = pages[0].read_text(encoding="utf-8")
    assert "ordered_at" in text and "<table" in text


def test_deliveries_profiles_and_the_report_are_recorded_for_the_run(first_run, run_env):
    _, warehouse = run_env
    run_id = first_run.run_id
    # dq.deliveries totals this run's per-file accounts per source, under the run's as-of date
    deliveries = query(
        warehouse,
        f"select source, as_of_date::varchar, rows_read, rows_quarantined from dq.deliveries where run_id = '{run_id}'",
    )
    accounts = query(
        warehouse,
        f"""select source, as_of_date::varchar, sum(rows_read)::bigint, sum(rows_quarantined)::bigint
        from dq.reconciliation where run_id = '{run_id}' group by all""",
    )
    assert sorted(deliveries) == sorted(accounts) and len(deliveries) == 11
    assert {d[1] for d in deliveries} == {DEMO_AS_OF}
    # every column a contract fills is profiled: the masked Tmall phones are there, the unmapped e-mail is not
    tmall = dict(
        query(
            warehouse,
            f"""select column_name, sum(null_rows) * 1.0 / sum(rows_profiled) from dq.column_profiles
            where run_id = '{run_id}' and source = 'tmall' group by 1""",
        )
    )
    assert tmall["phone"] < 0.05 and "email" not in tmall
    trends = query(warehouse, "select count(*) from monitoring.dq_trends where rule = '(all rules)'")
    assert trends == [(11,)]
    # the HTML report: written, linked from the asset and tagged on the run
    mat = first_run.materializations("monitoring__report")[0]
    report = Path(mat.metadata["report"].value)
    assert report.exists() and report.parent.name == "monitoring" and DEMO_AS_OF in report.name
    newest = max(report.parent.glob("report_*.html"), key=lambda p: p.stat().st_mtime)  # later tests run again
    assert (report.parent / "latest.html").read_bytes() == newest.read_bytes()
    assert set(mat.metadata["charts"].value) >= {"chart-grades", "chart-segments", "chart-dq"}
    assert "| A |" in mat.metadata["summary"].value
    tags = first_run.tags
    assert tags["crmgrade/report"] == str(report)


def test_identity_resolution_finds_the_planted_persons(first_run, run_env):
    from pipeline.demo.truth import identity_scores

    _, warehouse = run_env
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        scores = identity_scores(con, first_run.sources)
        linked = con.sql("select count(*) from identity.record_links").fetchall()[0][0]
    finally:
        con.close()
    assert scores.records == linked  # every linked record is a planted record
    assert scores.precision >= 0.99, scores
    assert scores.recall >= 0.95, scores


def test_a_customer_is_explained_record_by_record_in_one_query(first_run, run_env):
    _, warehouse = run_env
    key = query(
        warehouse,
        "select customer_key from intermediate.int_identity__graph "
        "where customer_group_count > 1 order by customer_record_count desc limit 1",
    )[0][0]
    rows = query(
        warehouse,
        f"""select source_name, source_file, source_row_number, link_rule, linked_by, match_probability
        from intermediate.int_identity__graph where customer_key = '{key}'""",
    )
    assert len({r[0] for r in rows}) >= 2  # several sources
    assert all(r[3] in ("identifier", "match", "masked_phone") for r in rows)
    assert any(r[3] == "match" and r[5] >= 0.99 for r in rows)
    assert all(r[4] or r[3] != "identifier" for r in rows)  # every record says which identifier or rule tied it


def test_fct_customer_holds_one_row_per_planted_person(first_run, run_env):
    _, warehouse = run_env
    customers = query(warehouse, "select count(*), count(distinct customer_key) from marts.fct_customer")[0]
    # persons the data shows at all (a prospect who never got in touch has no record anywhere)
    planted = query(
        warehouse,
        f"select count(distinct person_id) from read_parquet('{first_run.sources / 'truth/records.parquet'}')",
    )[0][0]
    assert customers[0] == customers[1]
    # Within the recall tolerance of the identity criterion (5%): fragments inflate the count, merges shrink it.
    assert abs(customers[0] - planted) <= 0.05 * planted, (customers[0], planted)


def test_every_column_of_every_model_is_described(first_run, run_env, dbt_manifest):
    _, warehouse = run_env
    manifest = json.loads(dbt_manifest.read_text(encoding="utf-8"))
    models = {
        (n["schema"], n["name"]): n
        for n in manifest["nodes"].values()
        if n["resource_type"] in ("model", "seed", "snapshot")
    }
    built = query(
        warehouse,
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema in ('staging', 'intermediate', 'marts', 'reference', 'history', 'monitoring')",
    )
    # tables the Python assets write describe their columns in the asset's column schema
    from pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    for s, t in {(s, t) for s, t, _ in built} - set(models):
        schema = graph.get(dg.AssetKey([s, t])).metadata["dagster/column_schema"]
        models[(s, t)] = {
            "description": "asset",
            "columns": {c.name: {"description": c.description} for c in schema.columns},
        }
    undocumented = [f"{s}.{t}.{c}" for s, t, c in built if not models[(s, t)]["columns"].get(c, {}).get("description")]
    assert not undocumented, undocumented
    assert all(n["description"] for n in models.values())


def test_planted_personas_land_in_their_intended_segments(first_run, run_env):
    from pipeline.demo.truth import confusion_markdown, persona_accuracy, persona_segments

    _, warehouse = run_env
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        confusion = persona_segments(con, first_run.sources)
    finally:
        con.close()
    judged = confusion.filter(pl.col("intended").is_not_null())["customers"].sum()
    assert judged > 250
    assert persona_accuracy(confusion) >= 0.9, confusion_markdown(confusion)


def test_recommendations_follow_the_customers_planted_taste(first_run, run_env):
    """The generator plants a taste per person (a group of 4 of the catalogue's 12 categories, 3,000 SKUs of
    long-tail popularity); lift finds it."""
    from pipeline.demo import catalogue

    _, warehouse = run_env

    def group(name: str) -> int:
        return catalogue.category_of(name) // catalogue.TASTE_GROUP_SIZE

    rows = query(
        warehouse,
        """select customer_key, basis, product_name, because_of_product_key, next_best_action, reason, product_key
        from marts.customer_recommendations""",
    )
    graded = query(warehouse, "select count(*) from marts.customer_grades")[0][0]
    assert len({r[0] for r in rows}) == graded  # every graded customer has an action, with or without a product
    assert all(r[4] in ("retain", "upsell", "win_back", "nurture") and r[5] for r in rows)
    co_purchase = [r for r in rows if r[1] == "co_purchase"]
    assert len(co_purchase) >= 20
    # the demo sells a catalogue, not a dozen products: its 400 customers bought ~900 of the 3,000 SKUs, and
    # offers reach past the 12 flagships
    [(sold,)] = query(warehouse, "select count(distinct product_key) from intermediate.int_grading__customer_products")
    assert sold >= 500, sold
    assert len({r[6] for r in co_purchase}) > 2 * len(catalogue.CATEGORIES)
    names = dict(query(warehouse, "select distinct product_key, product_name from marts.customer_recommendations"))
    same_group = sum(group(r[2]) == group(names.get(r[3], r[3])) for r in co_purchase)
    assert same_group / len(co_purchase) >= 0.6, (same_group, len(co_purchase))  # chance: about a third
    owned = set(
        query(
            warehouse,
            "select customer_key, product_key from intermediate.int_grading__customer_products",
        )
    )
    assert not [r for r in rows if (r[0], r[6]) in owned]  # never offer what the customer has


def test_rules_tag_customers_and_a_bad_rule_stops_naming_it(first_run, run_env, tmp_path):
    config, warehouse = run_env
    tagged = query(warehouse, "select count(*) from tags.customer_tags where rule = 'high_value'")[0][0]
    high_value = "select count(*) from marts.fct_customer where lifetime_monetary > 10000"
    assert tagged == query(warehouse, high_value)[0][0] > 0
    assert query(
        warehouse, "select count(*) from tags.customer_tags t anti join marts.fct_customer using (customer_key)"
    ) == [(0,)]
    bad_rules = tmp_path / "rules.yml"
    bad_rules.write_text("rules:\n  - {name: big_spender, when: monetry > 10000, tag: big}\n", encoding="utf-8")
    bad_config = tmp_path / "crmgrade.yml"
    bad_config.write_text(config.read_text(encoding="utf-8") + f"rules: {bad_rules}\n", encoding="utf-8")
    result = materialize(
        bad_config, warehouse, dg.AssetSelection.assets(["tags", "customer_tags"]), raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error
    assert "rule 'big_spender'" in failure.to_string() and "monetry" in failure.to_string()
    assert query(warehouse, "select count(*) from tags.customer_tags where rule = 'high_value'")[0][0] == tagged


def test_clv_predictions_cover_every_buyer_and_agree_with_the_orders(first_run, run_env):
    _, warehouse = run_env
    # x, t_x and T recomputed from fct_orders in SQL, in weeks, for every customer with a purchase day
    mismatched = query(
        warehouse,
        f"""with days as (
            select customer_key, order_date from marts.fct_orders
            where customer_key is not null and order_date < date '{DEMO_AS_OF}' and gross_amount > 0
                and order_status in ('completed', 'partially_refunded')
            group by all
        ), expected as (
            select customer_key, count(*) - 1 as x, (max(order_date) - min(order_date)) / 7 as t_x,
                (date '{DEMO_AS_OF}' - 1 - min(order_date)) / 7 as t
            from days group by 1
        )
        select count(*) filter (where c.customer_key is null or e.customer_key is null
            or c.repeat_purchase_days != e.x or abs(c.recency_t - e.t_x) > 1e-9 or abs(c.age_t - e.t) > 1e-9),
            count(*)
        from expected e full join marts.customer_clv c using (customer_key)""",
    )[0]
    assert mismatched[0] == 0 and mismatched[1] > 200
    params = query(
        warehouse,
        "select fitted_on, model, parameter, value, converged from marts.clv_model_params order by all",
    )
    # one purchase model per fit, the better of BG/NBD and MBG/NBD, and the spend model
    [purchase_model] = {m for f, m, *_ in params if f == "all" and m != "gamma_gamma"}
    assert purchase_model in ("bg_nbd", "mbg_nbd")
    assert {(m, p) for f, m, p, _, _ in params if f == "all"} == {
        (purchase_model, "r"), (purchase_model, "alpha"), (purchase_model, "a"), (purchase_model, "b"),
        ("gamma_gamma", "p"), ("gamma_gamma", "q"), ("gamma_gamma", "gamma"),
    }  # fmt: skip
    assert all(v > 0 for *_, v, _ in params)
    # The default profile (the B2C buyers) has its own fit, inside the bounds. The pooled fit may sit on one:
    # with the few big B2B buyers mixed in, Gamma-Gamma's best fit can be the limit of no spend variation
    # within a customer (p -> infinity), reported as not converged and still a usable prediction.
    assert [ok for f, *_, ok in params if f == "default"] == [True] * 7
    # The KPI table's average CLV is the mean over the grade's predicted customers, and grades order value
    rows = query(
        warehouse,
        """select s.breakdown_value, s.average_clv, avg(c.clv)
        from marts.grade_summary s
        join marts.customer_grades g on s.breakdown = 'grade' and g.grade = s.breakdown_value
        join marts.customer_clv c using (customer_key)
        group by all order by 1""",
    )
    assert all(abs(a - b) < 1e-6 for _, a, b in rows)
    average = {grade: a for grade, a, _ in rows}
    assert average["A"] > average["B"] > average["D"]
    risks = dict(query(warehouse, "select churn_risk, count(*) from marts.customer_clv group by 1"))
    assert set(risks) == {"high", "medium", "low"}
    # no fit in use says nobody ever leaves (P(alive) 1 for all its customers): such a fit falls back to the pooled
    alive = query(warehouse, "select clv_model, min(p_alive) from clv.customer_predictions group by 1")
    assert all(low < 0.99 for _, low in alive), alive


def test_clv_predicts_with_the_last_fit_until_it_is_refit_every_days_old(first_run, tmp_path):
    """The clv assets alone on a copy of the run's warehouse, its fit dated back: two days old, the fit
    predicts the day (same parameters, same predictions); seven days old (grading.yml refit_every_days: 7), the
    models are refitted, on the same purchases to the same parameters."""
    config, warehouse = first_run.copy_to(tmp_path)
    clv_assets = dg.AssetSelection.assets(["clv", "model_params"], ["clv", "customer_predictions"])
    params = "select profile, model, parameter, value from clv.model_params order by all"
    predictions = "select * exclude (as_of_date) from clv.customer_predictions order by customer_key"
    first_params, first_predictions = query(warehouse, params), query(warehouse, predictions)

    def run_with_fit_days_old(days: int) -> dict:
        con = duckdb.connect(str(warehouse))
        try:
            con.execute(f"update clv.model_params set fitted_as_of = date '{DEMO_AS_OF}' - {days}")
        finally:
            con.close()
        result = materialize(config, warehouse, clv_assets)
        [event] = [
            e.step_materialization_data.materialization
            for e in result.get_asset_materialization_events()
            if e.asset_key == dg.AssetKey(["clv", "model_params"])
        ]
        return {k: v.value for k, v in event.metadata.items() if k in ("refitted", "fitted_as_of", "why")}

    two_days = run_with_fit_days_old(2)
    assert two_days == {
        "refitted": False,
        "fitted_as_of": "2026-06-29",
        "why": "fitted 2 days before (refit_every_days: 7)",
    }
    assert query(warehouse, "select distinct fitted_as_of::varchar from clv.model_params") == [("2026-06-29",)]
    assert query(warehouse, params) == first_params and query(warehouse, predictions) == first_predictions

    week = run_with_fit_days_old(7)
    assert week == {
        "refitted": True,
        "fitted_as_of": DEMO_AS_OF,
        "why": "the last fit (2026-06-24) is 7 days old (refit_every_days: 7)",
    }
    assert query(warehouse, params) == first_params and query(warehouse, predictions) == first_predictions


def test_the_sensor_starts_nothing_for_files_a_run_already_ingested(first_run, run_env):
    """A first `dagster dev` after `make run` (no sensor cursor yet) must not rebuild everything."""
    from pipeline.config import load_settings
    from pipeline.definitions import defs
    from pipeline.defs.automation.sensors import new_files_sensor
    from pipeline.defs.resources import CrmgradeSettings
    from pipeline.ingest.judged_files import judged_files, judged_files_path

    config, warehouse = run_env
    # the demo's files were just written: no settling time, so that only what was judged decides
    config = config.with_name("sensor.yml")
    config.write_text(
        run_env[0].read_text(encoding="utf-8") + "operations:\n  new_files_sensor: {settle_seconds: 0}\n", "utf-8"
    )
    judged = judged_files(warehouse)
    # every file the run judged, with the size and time it has now
    files = query(warehouse, "select distinct concat_ws(chr(9), source, entity, file) from dq.reconciliation")
    assert sorted(judged) == sorted(f for (f,) in files) and len(judged) > 90
    for name, (size, mtime_ns) in judged.items():
        stat = (first_run.sources / name.split("\t", 2)[2]).stat()
        assert (size, mtime_ns) == (stat.st_size, stat.st_mtime_ns)

    def tick():
        with dg.instance_for_test() as instance:
            context = dg.build_sensor_context(
                instance=instance,
                cursor=None,
                resources={"settings": CrmgradeSettings(config_file=str(config))},
                definitions=defs,
            )
            return new_files_sensor(load_settings(config)).evaluate_tick(context)

    quiet = tick()
    assert not quiet.run_requests
    assert quiet.skip_message == f"all {len(judged)} source files are ingested as they are now; nothing to run"
    # one file the warehouse has not judged as it is now: a run, for that file
    forgotten = sorted(judged)[0]
    entries = json.loads(judged_files_path(warehouse).read_text(encoding="utf-8"))
    entries[forgotten][1] -= 1
    judged_files_path(warehouse).write_text(json.dumps(entries), encoding="utf-8")
    [request] = tick().run_requests
    assert request.tags["crmgrade/new_or_changed_files"] == "1"
    assert request.tags["crmgrade/source_files"] == str(len(judged))


def test_the_first_run_sends_every_member_of_each_watched_membership_to_its_destination(first_run, run_env):
    config, warehouse = run_env
    from pipeline.config import load_settings

    run = first_run.run_id
    per_action = dict(
        (tuple(r[:3]), r[3])
        for r in query(
            warehouse,
            f"""select destination, membership_kind || ':' || membership_value, event, count(*)::bigint
            from activation.events where run_id = '{run}' group by all""",
        )
    )
    tagged = dict(query(warehouse, "select rule, count(*)::bigint from tags.customer_tags group by 1"))
    grade_a = query(warehouse, "select count(*)::bigint from marts.customer_grades where grade = 'A'")[0][0]
    win_back = query(warehouse, "select count(*)::bigint from marts.customer_grades where segment_cn = '重要挽留客户'")[
        0
    ][0]
    # rules.yml: high_value -> crm_groups, at_risk -> staff_tasks, grade A -> crm_groups, 重要挽留客户 -> staff_tasks
    expected = {
        ("crm_groups", "rule:high_value", "enter"): tagged.get("high_value", 0),
        ("staff_tasks", "rule:at_risk", "enter"): tagged.get("at_risk", 0),
        ("crm_groups", "grade:A", "enter"): grade_a,
        ("staff_tasks", "segment_cn:重要挽留客户", "enter"): win_back,
    }
    assert per_action == {k: v for k, v in expected.items() if v}
    assert grade_a > 0 and tagged["high_value"] > 0
    # one file per destination in the run's outbox_dir, with as many lines as events (the CSV has a header)
    files = query(warehouse, f"select destination, file, events from activation.batches where run_id = '{run}'")
    assert sorted(d for d, _, _ in files) == ["crm_groups", "staff_tasks"]
    for destination, file, n in files:
        path = Path(file)
        assert path == first_run.folder / "outbox" / destination / f"{DEMO_AS_OF}_{run[:8]}{path.suffix}"
        lines = path.read_text(encoding="utf-8-sig").splitlines()
        assert len(lines) == n + (1 if path.suffix == ".csv" else 0)
    # a copy's config keeps its own outbox beside it
    assert load_settings(config).outbox_dir == config.parent / "outbox"


def test_every_campaign_is_evaluated_and_the_demo_shows_no_effect_it_did_not_plant(first_run, run_env):
    _, warehouse = run_env
    evaluated = query(
        warehouse,
        """select campaign_id, comparison, targeted_customers, responders, matched_customers,
            uplift_ci_low <= 0 and 0 <= uplift_ci_high, estimate
        from monitoring.campaign_effect where breakdown = 'all' order by 1""",
    )
    # what the raw export says each campaign targeted and who responded (clicked or purchased)
    raw = query(
        warehouse,
        """select campaign_id, count(distinct member_no),
            count(distinct member_no) filter (where response in ('clicked', 'purchased'))
        from read_csv(? , all_varchar = true) group by 1 order by 1""".replace(
            "?", f"'{first_run.sources / 'marketing' / 'campaign_responses.csv'}'"
        ),
    )
    assert [(c, t, r) for c, _, t, r, *_ in evaluated] == [(c, int(t), int(r)) for c, t, r in raw]
    # the demo marks no holdout: every campaign is measured against untargeted buyers of the year before
    assert {method for _, method, *_ in evaluated} == {"matched_non_targeted"}
    assert all(matched <= targeted for _, _, targeted, _, matched, *_ in evaluated)
    # an early campaign of a small demo may find no untargeted buyer of its targeted customers' bands: not measured;
    # the later ones are
    assert evaluated[-1][4] > 0 and len([m for *_, m, _, _ in evaluated if m > 0]) >= len(evaluated) // 2
    # fewer than 30 measured customers (monitoring.campaign_effect.min_customers) is no evidence: no interval
    estimated = [holds_zero for *_, matched, holds_zero, estimate in evaluated if estimate == "estimated"]
    assert all(h is None for *_, m, h, e in evaluated if e == "insufficient data")
    assert all(m >= 30 for *_, m, _, e in evaluated if e == "estimated")
    # its orders do not depend on its campaigns: the 95% interval holds 0 for all but chance exceptions
    assert sum(estimated) >= len(estimated) - 2
    # one grade row set per campaign; before the demo's only graded day nobody had a grade
    assert query(
        warehouse, "select distinct breakdown_value from monitoring.campaign_effect where breakdown = 'grade'"
    ) == [("(not graded then)",)]


def test_each_month_of_joining_is_measured_on_the_joiners_who_bought_before(first_run, run_env):
    _, warehouse = run_env
    months = query(
        warehouse,
        """select cohort_month, joined, targeted_customers, matched_customers, comparison_customers
        from monitoring.membership_effect where breakdown = 'all' order by 1""",
    )
    # the registry's joiners per month, and those of them who bought in the year before their day
    expected = query(
        warehouse,
        f"""select date_trunc('month', d.member_since)::date, count(*), count(*) filter (where exists (
                select 1 from marts.fct_orders o where o.customer_key = d.customer_key and o.is_purchase
                    and o.order_date >= d.member_since - 365 and o.order_date < d.member_since))
        from marts.dim_customer d where d.member_since is not null
        group by 1 having max(d.member_since) + 90 <= date '{DEMO_AS_OF}' order by 1""",
    )
    assert [m[:3] for m in months] == expected and months
    assert all(matched <= targeted for _, _, targeted, matched, _ in months)
    assert sum(matched for *_, matched, _ in months) > 0
