"""Publishing the serving copy: versions, the atomic switch, rollback, pruning, the personal-data guard."""

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.serving.publish import (
    PublishError,
    TableToPublish,
    current_version,
    list_versions,
    publish,
    rollback,
)

TABLES = [
    TableToPublish("customers", "bi.customers", "One row per customer.", {"phone": "Masked phone."}),
    TableToPublish("grade_summary", "bi.grade_summary"),
]
T0 = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)


def working(path: Path, customers: int, phone: str = "138****5678") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists bi")
    con.execute(
        "create or replace table bi.customers as select 'C' || i as customer_key, ? as phone from range(?) t(i)",
        [phone, customers],
    )
    con.execute("create or replace table bi.grade_summary as select ? as customers", [customers])
    return con


def publish_n(con, serving: Path, n: int, keep: int = 5, **kw) -> list[str]:
    return [
        publish(
            con,
            serving,
            TABLES,
            run_id=f"run{i}",
            as_of_date=date(2026, 7, 1) + timedelta(days=i),
            keep=keep,
            now=T0 + timedelta(days=i),
            **kw,
        ).version
        for i in range(n)
    ]


def read_serving(serving: Path) -> tuple:
    con = duckdb.connect(str(serving / "warehouse.duckdb"), read_only=True)
    try:
        return con.sql(
            "select run_id, (select count(*) from bi.customers), (select customers from bi.grade_summary) "
            "from bi.published_version"
        ).fetchall()[0]
    finally:
        con.close()


def test_a_version_holds_the_tables_documented_with_parquet_and_becomes_current(tmp_path):
    con = working(tmp_path / "w.duckdb", 3)
    serving = tmp_path / "serving"
    (version,) = publish_n(con, serving, 1)
    assert current_version(serving) == version and list_versions(serving) == [version]
    assert read_serving(serving) == ("run0", 3, 3)
    assert pl.read_parquet(serving / "parquet" / "customers.parquet").height == 3
    info = json.loads((serving / "current" / "version.json").read_text())
    assert info["tables"] == {"customers": 3, "grade_summary": 1} and info["as_of_date"] == "2026-07-01"
    copy = duckdb.connect(str(serving / "warehouse.duckdb"), read_only=True)
    comments = copy.sql("select table_name, comment from duckdb_tables() where table_name = 'customers'").fetchall()
    column = copy.sql("select comment from duckdb_columns() where column_name = 'phone'").fetchall()
    assert comments == [("customers", "One row per customer.")] and column == [("Masked phone.",)]
    # the serving paths are links through `current`: switching it is one rename
    assert os.readlink(serving / "warehouse.duckdb") == "current/warehouse.duckdb"


def test_a_reader_holding_the_old_version_keeps_reading_it_and_the_next_opens_the_new(tmp_path):
    serving = tmp_path / "serving"
    con = working(tmp_path / "w.duckdb", 3)
    publish_n(con, serving, 1)
    reader = duckdb.connect(str(serving / "warehouse.duckdb"), read_only=True)
    con.execute("insert into bi.customers select 'D' || i, null from range(2) t(i)")
    con.execute("update bi.grade_summary set customers = 5")
    publish(con, serving, TABLES, run_id="run1", as_of_date=date(2026, 7, 2), keep=5)
    assert reader.sql("select count(*) from bi.customers").fetchall() == [(3,)]  # not blocked, not mixed
    reader.close()
    assert read_serving(serving) == ("run1", 5, 5)


def test_old_versions_are_pruned_but_never_the_current_one_and_rollback_goes_back(tmp_path):
    con = working(tmp_path / "w.duckdb", 2)
    serving = tmp_path / "serving"
    versions = publish_n(con, serving, 4, keep=2)
    assert list_versions(serving) == versions[2:] and current_version(serving) == versions[3]
    assert rollback(serving) == versions[2] and read_serving(serving)[0] == "run2"
    with pytest.raises(PublishError, match="no version older"):
        rollback(serving)
    assert rollback(serving, to=versions[3]) == versions[3]
    with pytest.raises(PublishError, match="no published version nope"):
        rollback(serving, to="nope")


def test_personal_data_in_clear_is_not_published_unless_the_column_is_allowed(tmp_path):
    con = working(tmp_path / "w.duckdb", 2)
    serving = tmp_path / "serving"
    (first,) = publish_n(con, serving, 1)
    con.execute("update bi.customers set phone = '+8613812345678'")
    with pytest.raises(PublishError, match=r"customers\.phone: 2 rows look like phone"):
        publish(con, serving, TABLES, run_id="leak", as_of_date=date(2026, 7, 2), keep=5)
    assert current_version(serving) == first and list_versions(serving) == [first]  # nothing half-written left
    assert not [p for p in (serving / "versions").iterdir() if p.name.startswith(".building")]
    publish(
        con,
        serving,
        TABLES,
        run_id="allowed",
        as_of_date=date(2026, 7, 2),
        keep=5,
        allowed_in_clear={"customers.phone"},
    )
    assert read_serving(serving)[0] == "allowed"


def test_a_build_left_by_a_killed_publish_is_removed_by_the_next_but_a_live_one_is_not(tmp_path):
    import subprocess
    import sys

    con = working(tmp_path / "w.duckdb", 2)
    serving = tmp_path / "serving"
    publish_n(con, serving, 1)
    versions = serving / "versions"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = versions / ".building-20260101T000000000000Z_as_of_2026-01-01"
    (killed / "parquet").mkdir(parents=True)
    (killed / ".owner").write_text(dead.stdout.strip())
    ownerless = versions / ".building-20260102T000000000000Z_as_of_2026-01-02"
    ownerless.mkdir()
    live = versions / ".building-20260103T000000000000Z_as_of_2026-01-03"
    live.mkdir()
    (live / ".owner").write_text(str(os.getpid()))
    published = publish(con, serving, TABLES, run_id="r", as_of_date=date(2026, 7, 2), keep=5)
    assert sorted(published.removed) == [killed.name, ownerless.name]
    assert not killed.exists() and not ownerless.exists() and live.exists()
    assert not (versions / published.version / ".owner").exists()
