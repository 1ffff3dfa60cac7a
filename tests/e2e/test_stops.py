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


def _invoice_lines(invoices: int = 40) -> tuple[str, int, int]:
    """An invoice-line export (the invoice number repeats on each of its lines); (text, lines, lines of invoices
    with more than one line)."""
    rows, repeated = [], 0
    for i in range(invoices):
        n = 1 + i % 4
        repeated += n if n > 1 else 0
        day, customer = 1 + i % 28, 12346 + i % 9
        rows += [f"{536365 + i},{20000 + j},{1 + j},1/{day}/1998 10:00,2.50,{customer}.0\n" for j in range(n)]
    return "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n" + "".join(rows), len(rows), repeated


def test_a_contract_that_quarantines_most_of_an_export_fails_the_run_naming_the_rule(
    tmp_path, dbt_manifest, monkeypatch, capsys
):
    """The grain left out of an invoice-line contract: every line of a multi-line invoice breaks
    order_id_unique_per_file. Loading the single-line invoices and grading on them would be a green run that is
    quietly wrong; the quarantine gate stops it and says why first."""
    import yaml

    from pipeline.cli import main

    text, lines, repeated = _invoice_lines()
    sources, contracts = tmp_path / "exports", tmp_path / "contracts"
    sources.mkdir()
    contracts.mkdir()
    (sources / "invoices.csv").write_text(text, encoding="utf-8")
    (contracts / "dealer.yml").write_text(
        yaml.safe_dump(
            {
                "source": "dealer",
                "entity": "orders",
                "path": "*.csv",
                "format": "csv",
                "columns": {
                    "InvoiceNo": "order_id",
                    "StockCode": "product_id",
                    "Quantity": "quantity",
                    "InvoiceDate": "ordered_at",
                    "UnitPrice": "unit_price",
                    "CustomerID": "buyer_id",
                },
                "derived": {"amount": "quantity * unit_price", "status": "'completed'"},
                "datetime_formats": ["%m/%d/%Y %H:%M"],
            }
        ),
        encoding="utf-8",
    )
    config = tmp_path / "crmgrade.yml"
    config.write_text(
        f"warehouse: {tmp_path / 'w.duckdb'}\nas_of_date: 1998-07-01\n"
        f"sources: {{root: {sources}, contracts: {contracts}}}\nreports_dir: {tmp_path / 'reports'}\n"
        f"serving: {{dir: {tmp_path / 'serving'}}}\nprivacy: {{dir: {tmp_path / 'privacy'}}}\n"
        "operations: {partitions_start: 1998-01-01}\n",
        encoding="utf-8",
    )
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["run", "--config", str(config)]) == 1
    err = capsys.readouterr().err.splitlines()
    share = f"{repeated / lines:.1%} of the {lines:,} rows read this run were quarantined ({repeated:,})"
    said = f"orders source 'dealer': {share}, over quality.max_quarantine_share 5%; most under order_id_unique_per_file"
    # first on the console while the run goes on, and first again in what the failed run says at its end
    assert err[0].startswith(f"  error: {said}: {repeated:,} rows (")
    outcome = err[[i for i, line in enumerate(err) if line.startswith("  error: Execution of run")][0] + 1 :]
    assert outcome[0].startswith(f"  STOPPED: {said}")
    assert outcome[1].startswith("  step raw__orders failed: DagsterAssetCheckFailedError: 1 blocking asset check")
    summary = (tmp_path / "reports" / "run_summary.md").read_text(encoding="utf-8")
    assert summary.startswith("# crmgrade run FAILED")
    assert summary.index("## Sources stopped") < summary.index("## Failed steps")
    assert share in summary
    # and in run_timings.json, beside every step's time: the step and the exception it raised
    import json

    timings = json.loads((tmp_path / "reports" / "run_timings.json").read_text(encoding="utf-8"))
    [failed] = timings["failed_steps"]
    assert failed["step"] == "raw__orders"
    assert failed["error"].startswith("DagsterAssetCheckFailedError: 1 blocking asset check failed")

    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        assert con.execute(
            "select count(*) from information_schema.tables where table_schema = 'marts'"
        ).fetchall() == [(0,)]
    finally:
        con.close()
