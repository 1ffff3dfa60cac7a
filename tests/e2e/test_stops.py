"""A table-level failure stops its entity's downstream assets with a clear message; other sources still load."""

import shutil

import duckdb
import pytest

from tests.conftest import write_run_config

pytestmark = pytest.mark.slow


def test_a_broken_export_stops_its_entity_and_the_run_says_why(small_demo, tmp_path, dbt_manifest, capsys, monkeypatch):
    from pipeline.cli import main

    sources = tmp_path / "sources"
    shutil.copytree(small_demo, sources, ignore=shutil.ignore_patterns("truth"))
    header = (
        "订单编号,买家会员名,收货人姓名,收货人手机,收货地址,实付金额,退款金额,订单状态,订单创建时间,宝贝标题,宝贝数量\n"
    )
    (sources / "marketplaces/tmall/tmall_orders_209901.csv").write_bytes(header.encode("gbk"))  # header only
    (sources / "service/tickets_extra.csv").write_bytes("工单号,会员号\n".encode("gbk"))  # GBK under a UTF-8 contract
    config, warehouse = write_run_config(tmp_path, sources)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["run", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "tmall marketplaces/tmall/tmall_orders_209901.csv: rejected: table__row_count_to_be_between" in err
    assert "service service/tickets_extra.csv: unreadable:" in err and "not valid utf-8" in err

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        # Every other tmall file, and the other entities, were still ingested.
        tmall_files = con.execute("select count(distinct _source_file) from raw.orders where _source = 'tmall'")
        assert tmall_files.fetchall()[0][0] == len(list((small_demo / "marketplaces/tmall").glob("*.csv")))
        for entity in ("customers", "interactions", "surveys"):
            assert con.execute(f"select count(*) from raw.{entity}").fetchall()[0][0] > 0
        # Downstream of the stopped entities did not run: no marts were built.
        marts = con.execute("select count(*) from information_schema.tables where table_schema = 'marts'")
        assert marts.fetchall()[0][0] == 0
    finally:
        con.close()
