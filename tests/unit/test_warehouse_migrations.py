"""A warehouse of an older layout is brought to today's in one step (pipeline/warehouse_migrations.py): the same
columns as a warehouse created today, its leftovers gone, each migration applied once."""

from datetime import date

import duckdb

from pipeline.identity.resolve import DDL as IDENTITY_DDL
from pipeline.ingest.loader import ensure_raw_tables
from pipeline.warehouse_migrations import MIGRATIONS, migrate, pending

# the tables as the job created them before the migrations' changes (the oldest layouts it has shipped)
OLD_LAYOUT = [
    "create schema identity",
    """create table identity.runs (
        run_id varchar, resolved_at timestamp, records bigint, identified_records bigint,
        identifier_groups bigint, profiles bigint, accepted_matches bigint, customers bigint,
        new_keys bigint, retired_keys bigint, shared_identifiers bigint, matching_skipped varchar,
        stage_seconds json)""",
    "create schema dq",
    """create table dq.reconciliation (run_id varchar not null, source varchar not null, entity varchar not null,
        file varchar not null, file_sha256 varchar not null, status varchar not null, rows_read bigint,
        rows_loaded bigint not null, rows_quarantined bigint not null, rows_duplicate bigint not null,
        balanced boolean not null, message varchar, checked_at timestamp not null, seconds double)""",
    "create schema raw",
    """create table raw._ingest_manifest (source varchar not null, entity varchar not null,
        file_path varchar not null, file_sha256 varchar not null, file_bytes bigint not null,
        rows_loaded bigint not null, status varchar not null, duplicate_of varchar, ingested_at timestamp not null,
        primary key (source, file_path))""",
    "create schema grading_spec",
    "create table grading_spec.source (text varchar)",
    "create schema marts",
    "create table marts.customer_tags (customer_key varchar, tag varchar)",
    "create schema monitoring",
    "create table monitoring.backtest_scores (as_of_date date, auc_repeat double)",
    "create table monitoring.shadow_grade_comparison (as_of_date date, live_grade varchar, customers bigint)",
    "create schema history",
    "create table history.variant_grades (as_of_date date, customer_key varchar, grade varchar)",
    "insert into history.variant_grades values ('2026-07-01', 'C0000000001', 'A')",
    # a dbt snapshot: kept run by run, so a column its model renames is renamed in it
    "create table history.grading_input_customers (customer_key varchar, frequency bigint, dbt_valid_from timestamp)",
]
TABLES = ["identity.runs", "dq.reconciliation", "raw._ingest_manifest"]


def _columns(con, table):
    schema, name = table.split(".")
    return con.execute(
        "select column_name, data_type from duckdb_columns() where schema_name = ? and table_name = ? "
        "order by column_index",
        [schema, name],
    ).fetchall()


def _today(con):
    for statement in IDENTITY_DDL:
        con.execute(statement)
    ensure_raw_tables(con)  # raw and dq


def test_an_older_warehouse_gets_todays_layout_once():
    today = duckdb.connect()
    _today(today)
    old = duckdb.connect()
    for statement in OLD_LAYOUT:
        old.execute(statement)
    old.execute(
        "insert into dq.reconciliation values ('r', 's', 'orders', 'f', 'h', 'loaded', 3, 3, 0, 0, true, "
        "null, current_timestamp::timestamp, 1.0)"
    )

    applied = migrate(old)

    assert [m.name for m in applied] == [m.name for m in MIGRATIONS]
    for table in TABLES:
        assert _columns(old, table) == _columns(today, table), table
    assert old.execute("select rows_suppressed, orders_redelivered from dq.reconciliation").fetchall() == [(0, 0)]
    gone = old.execute(
        "select count(*) from duckdb_tables() where (schema_name, table_name) in (('grading_spec', 'source'), "
        "('marts', 'customer_tags'), ('monitoring', 'backtest_scores'), ('monitoring', 'shadow_grade_comparison'), "
        "('history', 'variant_grades'))"
    ).fetchone()
    assert gone == (0,)
    # moved with their rows: the grades variants gave on past days are kept
    kept = old.execute("select * from evaluation.variant_grades").fetchall()
    assert kept == [(date(2026, 7, 1), "C0000000001", "A")]
    snapshot = [c for c, _ in _columns(old, "history.grading_input_customers")]
    assert snapshot == ["customer_key", "lifetime_frequency", "dbt_valid_from"]
    assert migrate(old) == [] and pending(old) == []
    # today's DDL runs on the migrated warehouse unchanged (create if not exists)
    _today(old)


def test_a_new_warehouse_records_every_migration_and_creates_nothing_else():
    con = duckdb.connect()
    migrate(con)
    tables = con.execute("select schema_name || '.' || table_name from duckdb_tables()").fetchall()
    assert tables == [("operations.schema_migrations",)]
    assert pending(con) == []


def test_a_failing_migration_leaves_no_record(monkeypatch):
    import pipeline.warehouse_migrations as wm

    broken = wm.Migration("broken", "a statement that fails", ("select * from no_such_table",))
    monkeypatch.setattr(wm, "MIGRATIONS", (*wm.MIGRATIONS, broken))
    con = duckdb.connect()
    try:
        wm.migrate(con)
    except duckdb.CatalogException:
        pass
    else:
        raise AssertionError("the failing statement should raise")
    assert [m.name for m in wm.pending(con)] == ["broken"]


def test_a_writing_connection_says_each_migration_it_applied_once(tmp_path):
    from pipeline.config import load_settings

    (tmp_path / "src").mkdir()
    (tmp_path / "contracts").mkdir()
    config = tmp_path / "crmgrade.yml"
    config.write_text("warehouse: w.duckdb\nsources:\n  root: src\n  contracts: contracts\n", encoding="utf-8")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as old:
        for statement in OLD_LAYOUT:
            old.execute(statement)
    settings = load_settings(config)
    said: list[str] = []
    settings.connect_warehouse(said=said.append).close()
    assert said == [f"Migrated the warehouse: {m.why} ({m.name})" for m in MIGRATIONS]
    settings.connect_warehouse(said=said.append).close()
    settings.connect_warehouse(read_only=True).close()
    assert len(said) == len(MIGRATIONS), "applied and said once"
