"""The Python blocks of docs/bi.md, run against a published serving copy: the documented ways in work."""

import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipeline.serving.publish import TableToPublish, publish

DOC = Path(__file__).resolve().parents[2] / "docs" / "bi.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A folder with data/serving published from a small working warehouse."""
    root = tmp_path_factory.mktemp("bi")
    con = duckdb.connect(str(root / "w.duckdb"))
    con.execute("create schema bi")
    con.execute(
        """create table bi.customer_grades as select 'C' || i as customer_key,
        ['A', 'B', 'C'][i % 3 + 1] as grade, ['Champions', 'Hibernating'][i % 2 + 1] as segment_en from range(9) t(i)"""
    )
    con.execute("create table bi.customers as select customer_key, '华东' as region from bi.customer_grades")
    tables = [TableToPublish(t, f"bi.{t}") for t in ("customer_grades", "customers")]
    publish(con, root / "data" / "serving", tables, run_id="r", as_of_date=date(2026, 7, 1), keep=2)
    con.close()
    return root


def test_the_doc_has_the_python_blocks_it_promises():
    assert len(BLOCKS) == 4
    assert any("sqlalchemy" in b for b in BLOCKS) and any("read_parquet" in b for b in BLOCKS)


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_a_documented_python_block_runs_against_the_serving_copy(block, project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    exec(compile(block, str(DOC), "exec"), {})
    out = capsys.readouterr().out
    # what each block prints, from the 9 customers above: 3 per grade, 5 + 4 per segment, 9 in 华东
    if "region" in block:
        assert out.strip() == "9"
    elif "segment_en" in block:
        assert re.search(r"Champions\W+5\b", out) and re.search(r"Hibernating\W+4\b", out), out
    else:
        assert "('A', 3), ('B', 3), ('C', 3)" in out, out


def test_a_bi_tool_reflects_the_serving_copy_through_sqlalchemy(project):
    """What Superset does to add a dataset: list the tables, reflect columns and keys, load the table. It failed
    under SQLAlchemy 2.0.55+ (REGCLASS) and 2.1 (collations): pyproject.toml keeps the versions that reflect."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    engine = sa.create_engine(
        f"duckdb:///{project / 'data/serving/warehouse.duckdb'}", connect_args={"read_only": True}, poolclass=NullPool
    )
    inspector = sa.inspect(engine)
    # the two published tables and the version stamp every publish adds
    assert sorted(inspector.get_table_names(schema="bi")) == ["customer_grades", "customers", "published_version"]
    columns = inspector.get_columns("customer_grades", schema="bi")
    assert [(c["name"], str(c["type"]), c["nullable"]) for c in columns] == [
        ("customer_key", "VARCHAR", True),
        ("grade", "VARCHAR", True),
        ("segment_en", "VARCHAR", True),
    ]
    assert inspector.get_pk_constraint("customer_grades", schema="bi")["constrained_columns"] == []
    assert inspector.get_foreign_keys("customer_grades", schema="bi") == []
    customers = sa.Table("customers", sa.MetaData(), schema="bi", autoload_with=engine)
    assert [c.name for c in customers.columns] == ["customer_key", "region"]
    with engine.connect() as con:
        regions = con.execute(sa.select(customers.c.region, sa.func.count()).group_by(customers.c.region)).fetchall()
    assert regions == [("华东", 9)]
