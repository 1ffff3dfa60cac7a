"""`crmgrade contract draft`: a contract inferred from a sample export loads, and ingests that export exactly."""

from datetime import datetime

import duckdb
import pytest
import xlsxwriter

from pipeline.cli import main
from pipeline.contracts.draft import DraftError, draft_contract, render_draft
from pipeline.contracts.model import load_contract
from pipeline.ingest.loader import IngestOptions, ingest_contract

TMALL = (
    "华东经销商 销售报表\n\n订单编号,手机,实付金额,退款金额,下单时间,订单状态,备注\n"
    'A1,13812345678,"1,299.50",0,2024-03-05 14:22:01,交易成功,\n'
    "A2,138****5678,20.50,0,2024-03-06 09:00:00,交易关闭,x\n"
    "A3,,35,0,2024-03-07 10:00:00,待付款,\n"
)
INVOICES = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "536365,85123A,WHITE HANGING HEART,6,12/13/2010 8:26,2.55,17850.0,United Kingdom\n"
    "536366,71053,WHITE METAL LANTERN,6,12/14/2010 8:28,3.39,17850.0,United Kingdom\n"
    "C536379,D,Discount,-1,12/15/2010 9:41,27.50,14527.0,United Kingdom\n"
)


def _drafted(tmp_path, name, content, **kw):
    path = tmp_path / "samples" / name
    path.parent.mkdir(exist_ok=True)
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    draft = draft_contract(path, **kw)
    contract_file = tmp_path / "contract.yml"
    contract_file.write_text(render_draft(draft, "sample"), encoding="utf-8")
    return draft, contract_file.read_text(encoding="utf-8"), load_contract(contract_file)


def _ingest(tmp_path, contract, currency="CNY"):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    options = IngestOptions(warehouse_tz="Asia/Shanghai", run_id="r", now=datetime(2026, 6, 30), currency=currency)
    results = ingest_contract(con, contract, tmp_path / "samples", options=options)
    return con, results


def test_a_gbk_marketplace_export_with_title_rows(tmp_path):
    draft, text, contract = _drafted(tmp_path, "tmall.csv", TMALL.encode("gbk"))
    assert (draft.encoding, draft.delimiter, draft.header_row, draft.entity) == ("gbk", ",", 3, "orders")
    assert {c.header: c.target for c in draft.columns} == {
        "订单编号": "order_id",
        "手机": "phone",
        "实付金额": "amount",
        "退款金额": "refund_amount",
        "下单时间": "ordered_at",
        "订单状态": "status",
        "备注": None,
    }
    assert draft.statuses == {"交易关闭": "cancelled", "交易成功": "completed", "待付款": "unknown"}
    assert contract.datetime_formats == ["%Y-%m-%d %H:%M:%S"]
    # the draft is kept in git: column names and formats, never a value of a row
    assert "13812345678" not in text and "1,299.50" not in text
    con, [result] = _ingest(tmp_path, contract)
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_quarantined) == ("loaded", 3, 2, 1)
    rows = con.execute("select order_id, amount::varchar, status, _row_number from raw.orders order by 1").fetchall()
    assert rows == [("A1", "1299.5000", "completed", 4), ("A2", "20.5000", "cancelled", 5)]


def test_an_invoice_line_export_with_cancellations(tmp_path):
    draft, text, contract = _drafted(tmp_path, "invoices.csv", INVOICES)
    assert contract.returns is not None
    assert (contract.returns.negative_quantity, contract.returns.order_id_prefix) == (True, "C")
    assert contract.derived == {"amount": "quantity * unit_price", "status": "'completed'"}
    assert contract.datetime_formats == ["%m/%d/%Y %H:%M"]
    assert contract.columns["CustomerID"] == "buyer_id"
    con, [result] = _ingest(tmp_path, contract)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 3, 0)
    rows = con.execute("select order_id, buyer_id, status, amount::varchar from raw.orders order by 1").fetchall()
    assert rows == [
        ("536365", "17850", "completed", "15.3000"),
        ("536366", "17850", "completed", "20.3400"),
        ("C536379", "14527", "refunded", "27.5000"),
    ]


def test_a_european_export(tmp_path):
    sample = "Kunde;Datum;Betrag\n1001;05.03.2024;1.234,50\n1002;06.03.2024;0,99\n1003;07.03.2024;12,00\n"
    draft, _, contract = _drafted(tmp_path, "de.csv", sample, entity="orders")
    assert (draft.delimiter, draft.decimal_separator, draft.thousands_separator) == (";", ",", ".")
    assert contract.date_formats == ["%d.%m.%Y"]


def test_month_and_day_that_fit_both_orders_are_named_for_a_check(tmp_path):
    draft, text, _ = _drafted(
        tmp_path, "i.csv", INVOICES.replace("12/13/2010", "12/1/2010").replace("12/14", "12/2").replace("12/15", "12/3")
    )
    assert any("month/day or day/month" in n for n in draft.notes)
    assert "# - InvoiceDate: month/day or day/month" in text


def test_an_excel_workbook_with_a_title_row(tmp_path):
    path = tmp_path / "samples" / "members.xlsx"
    path.parent.mkdir()
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["会员名单 2024"])
    ws.write_row(1, 0, ["会员编号", "姓名", "手机", "生日", "会员等级"])
    ws.write_row(2, 0, ["M1", "张三", "13812345678", "1990-05-01", "金卡"])
    ws.write_row(3, 0, ["M2", "李四", "13912345678", "1985-11-30", "银卡"])
    wb.close()
    draft = draft_contract(path)
    assert (draft.format, draft.header_row, draft.entity) == ("xlsx", 2, "customers")
    assert {c.target for c in draft.columns} == {"member_id", "name", "phone", "birth_date", "member_level"}


def test_an_empty_file_is_refused_naming_it(tmp_path):
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(DraftError, match="e.csv: the file is empty"):
        draft_contract(tmp_path / "e.csv")


def test_the_command_writes_a_draft_that_loads(tmp_path, capsys):
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "Tmall Export 2024.csv").write_bytes(TMALL.encode("gbk"))
    out = tmp_path / "contracts" / "tmall.yml"
    assert main(["contract", "draft", str(tmp_path / "samples" / "Tmall Export 2024.csv"), "--out", str(out)]) == 0
    assert "Wrote" in capsys.readouterr().out
    assert load_contract(out).source == "tmall_export_2024"


def test_a_draft_with_no_name_recognised_says_it_does_not_load_yet(tmp_path, capsys):
    (tmp_path / "x.csv").write_text("a1,b2,c3\nfoo,bar,baz\n", encoding="utf-8")
    out = tmp_path / "x.yml"
    assert main(["contract", "draft", str(tmp_path / "x.csv"), "--out", str(out)]) == 1
    assert "does not load yet" in capsys.readouterr().err
    assert "columns: {}" in out.read_text(encoding="utf-8")


def test_json_lines_and_parquet_exports(tmp_path):
    import polars as pl

    events = '{"memberId":"M1","channel":"phone","ts":"2024-01-01T02:00:00Z","durationSec":30}\n' * 2
    draft, _, contract = _drafted(tmp_path, "calls.jsonl", events, entity="interactions")
    assert (draft.format, draft.header_row) == ("jsonl", 1)
    assert contract.datetime_formats == ["%Y-%m-%dT%H:%M:%SZ"]
    path = tmp_path / "samples" / "orders.parquet"
    pl.DataFrame(
        {"order_no": ["A1", "A2"], "total": ["10.50", "3"], "order_date": ["2024-01-02", "2024-01-03"]}
    ).write_parquet(path)
    draft = draft_contract(path)
    assert draft.format == "parquet"
    assert {c.header: c.target for c in draft.columns} == {
        "order_no": "order_id",
        "total": "amount",
        "order_date": "ordered_at",
    }
