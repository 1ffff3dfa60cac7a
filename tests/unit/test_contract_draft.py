"""`crmgrade contract draft`: a contract inferred from a sample export loads, and ingests that export exactly."""

import re
from datetime import datetime

import duckdb
import pytest
import xlsxwriter

from pipeline.cli import main
from pipeline.contracts.model import load_contract
from pipeline.ingest.draft import DraftError, draft_contract, render_draft
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
        ("C536379", "14527", "returned", "27.5000"),
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


# -- drafts that run right as written (issue 42) ------------------------------------------------------------------
INVOICE_LINES = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,LineCost\n"
    "536365,85123A,WHITE HANGING HEART,6,12/13/2010 8:26,2.55,17850.0,9.18\n"
    "536365,71053,WHITE METAL LANTERN,6,12/13/2010 8:26,3.39,17850.0,12.20\n"
    "536366,22633,HAND WARMER,6,12/14/2010 8:28,1.85,17850.0,6.66\n"
    "C536379,D,Discount,-1,12/15/2010 9:41,27.50,14527.0,\n"
)


def test_an_invoice_whose_number_repeats_is_drafted_at_the_grain_of_its_lines(tmp_path):
    draft, text, contract = _drafted(tmp_path, "invoices.csv", INVOICE_LINES)
    assert contract.grain == "order_line" and "grain: order_line" in text
    assert contract.columns["LineCost"] == "cost_amount"
    assert (contract.returns.negative_quantity, contract.returns.order_id_prefix) == (True, "C")
    con, [result] = _ingest(tmp_path, contract)
    # as drafted, nothing is quarantined: both lines of 536365 load as lines 1 and 2
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 4, 0)
    rows = con.execute(
        "select order_id, line_number, status, amount::varchar, cost_amount::varchar from raw.orders order by 1, 2"
    ).fetchall()
    assert rows == [
        ("536365", 1, "completed", "15.3000", "9.1800"),
        ("536365", 2, "completed", "20.3400", "12.2000"),
        ("536366", 1, "completed", "11.1000", "6.6600"),
        ("C536379", 1, "returned", "27.5000", None),
    ]


ERP = (
    "单据编号,单据日期,客户名称,存货编码,数量,含税单价,金额(元),成本\n"
    "SO0001,2024-03-01,华东五金有限公司,P-01,10,12.50,125.00,80.00\n"
    "SO0002,2024-03-02,华南建材,P-02,4,30.00,120.00,70.00\n"
    "SO0003,2024-03-03,华东五金有限公司,P-01,-2,12.50,-25.00,-16.00\n"
)


def test_an_erp_export_whose_ids_share_a_prefix_is_not_all_returns(tmp_path):
    draft, text, contract = _drafted(tmp_path, "erp.csv", ERP.encode("gbk"))
    assert {c.header: c.target for c in draft.columns} == {
        "单据编号": "order_id",
        "单据日期": "ordered_at",
        "客户名称": "buyer_name",
        "存货编码": "product_id",
        "数量": "quantity",
        "含税单价": "unit_price",
        "金额(元)": "amount",
        "成本": "cost_amount",
    }
    # every id starts with S, the positive lines too: a prefix would make every order a return
    assert contract.returns is not None and contract.returns.order_id_prefix is None
    assert contract.currency == "CNY" and 'currency: CNY                 # from the header "金额(元)"' in text
    assert contract.grain == "record"


def test_an_amount_header_naming_its_currency_maps_to_amount_and_proposes_the_currency(tmp_path):
    for header, currency in (("amount_usd", "USD"), ("Betrag EUR", "EUR"), ("Total (GBP)", "GBP")):
        sample = f"order_no,order_date,{header}\nA1,2024-03-01,12.50\nA2,2024-03-02,3.00\n"
        draft, _, contract = _drafted(tmp_path, "o.csv", sample)
        assert (contract.columns[header], contract.currency) == ("amount", currency), header
    # no header says it: a sign on the amounts proposes it
    draft, _, contract = _drafted(tmp_path, "o.csv", 'order_no,order_date,total\nA1,2024-03-01,"$1,250.00"\n')
    assert contract.currency == "USD" and draft.currency_from == "the sign on 1 sampled amounts"


SHOPIFY = (
    "Name,Email,Financial Status,Paid at,Currency,Subtotal,Total,Discount Code,Created at,Lineitem quantity,"
    "Lineitem name,Lineitem price,Lineitem sku,Billing Name,Billing City,Billing Province,Refunded Amount,Id\n"
    "#1001,ann@example.com,paid,2024-03-01 10:00:00 -0500,USD,30.00,33.00,,2024-03-01 09:59:00 -0500,1,Mug,10.00,"
    "MUG-1,Ann Lee,Boston,MA,0.00,5001\n"
    "#1001,,,,,,,,2024-03-01 09:59:00 -0500,2,Tea,10.00,TEA-1,,,,,5001\n"
    "#1002,bob@example.com,refunded,2024-03-02 11:00:00 -0500,USD,15.00,15.00,,2024-03-02 10:30:00 -0500,1,Pot,"
    "15.00,POT-1,Bob Ray,Austin,TX,15.00,5002\n"
    "#1003,cy@example.com,voided,,USD,8.00,8.00,,2024-03-03 23:30:00 -0500,1,Cup,8.00,CUP-1,Cy Doe,Denver,CO,"
    "0.00,5003\n"
    "#1003,,,,,,,,2024-03-03 23:30:00 -0500,1,Lid,0.00,LID-1,,,,,5003\n"
)


def test_a_shopify_export_with_order_fields_on_the_first_line_runs_right_as_drafted(tmp_path):
    draft, text, contract = _drafted(tmp_path, "orders_export.csv", SHOPIFY)
    mapped = {c.header: c.target for c in draft.columns if c.target}
    assert mapped == {
        "Name": "order_id",
        "Email": "email",
        "Financial Status": "status",
        "Currency": "currency",
        "Total": "amount",
        "Created at": "ordered_at",
        "Lineitem quantity": "quantity",
        "Lineitem name": "product_name",
        "Lineitem price": "unit_price",
        "Lineitem sku": "product_id",
        "Billing Name": "buyer_name",
        "Billing City": "city",
        "Billing Province": "province",
        "Refunded Amount": "refund_amount",
    }
    assert contract.grain == "order_line"
    # the order's fields carried down its lines; its money never (a total on each line would count twice)
    assert contract.fill_down == [
        "Email",
        "Financial Status",
        "Currency",
        "Billing Name",
        "Billing City",
        "Billing Province",
    ]
    assert contract.datetime_formats == ["%Y-%m-%d %H:%M:%S %z"]
    assert draft.statuses == {"paid": "completed", "refunded": "refunded", "voided": "cancelled"}
    assert "'completed'" not in contract.derived["status"].split("else")[-1]
    con, [result] = _ingest(tmp_path, contract, currency="USD")
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (5, 5, 0)
    rows = con.execute(
        """select order_id, line_number, email, status, buyer_name, amount::varchar, refund_amount::varchar,
                  ordered_at::varchar
           from raw.orders order by 1, 2"""
    ).fetchall()
    # -0500 is that instant: 09:59 in Boston is 22:59 in Shanghai (the warehouse's zone), whatever the contract says
    assert rows == [
        ("#1001", 1, "ann@example.com", "completed", "Ann Lee", "33.0000", "0.0000", "2024-03-01 22:59:00"),
        ("#1001", 2, "ann@example.com", "completed", "Ann Lee", None, None, "2024-03-01 22:59:00"),
        ("#1002", 1, "bob@example.com", "refunded", "Bob Ray", "15.0000", "15.0000", "2024-03-02 23:30:00"),
        ("#1003", 1, "cy@example.com", "cancelled", "Cy Doe", "8.0000", "0.0000", "2024-03-04 12:30:00"),
        ("#1003", 2, "cy@example.com", "cancelled", "Cy Doe", None, None, "2024-03-04 12:30:00"),
    ]


def test_the_draft_reads_the_middle_and_the_end_of_a_large_export(tmp_path):
    """A status word that first appears late in the file (returns start in the last month) is still mapped, and
    an impossible date among the values does not make the date column text."""
    head = "订单编号,下单时间,实付金额,订单状态\n"
    early = "".join(f"A{i:07d},2024-01-01 10:00:00,{10 + i % 90}.00,交易成功\n" for i in range(20_000))
    late = "".join(f"B{i:07d},2024-06-30 10:00:00,{10 + i % 90}.00,已退款\n" for i in range(2_000))
    text = head + early + "X1,2024-02-30 10:00:00,1.00,交易成功\n" + late
    assert len(text.encode()) > 3 * 512 * 1024 // 2
    draft, rendered, contract = _drafted(tmp_path, "big.csv", text)
    assert draft.statuses == {"交易成功": "completed", "已退款": "refunded"}
    assert draft.spread and "of its start, middle and end" in rendered
    bad = _drafted(tmp_path, "bad.csv", head + early[:2000] + "X1,2024-02-30 10:00:00,1.00,交易成功\n")[2]
    assert bad.datetime_formats == ["%Y-%m-%d %H:%M:%S"]


def test_fill_down_needs_order_lines_and_a_mapped_column(tmp_path):
    from pipeline.contracts.model import ContractError

    base = "source: s\nentity: orders\npath: '*.csv'\nformat: csv\ncolumns: {Name: order_id, Email: email}\n"
    for extra, message in (
        ("fill_down: [Email]\n", "needs grain 'order_line'"),
        ("grain: order_line\nfill_down: [Emial]\n", "fill_down[0]: 'Emial' is not a column the contract maps"),
    ):
        (tmp_path / "c.yml").write_text(base + extra, encoding="utf-8")
        with pytest.raises(ContractError, match=re.escape(message)):
            load_contract(tmp_path / "c.yml")


WESTERN_SHOP = (
    "Order ID,Order Date,Customer Email,Phone,Total,Status\n"
    "W1,2024-03-01 10:00:00,ann@example.com,(415) 555-0100,$12.50,completed\n"
    "W2,2024-03-02 11:00:00,bob@example.com,+44 20 7946 0958,$8.00,completed\n"
    "W3,2024-03-03 12:00:00,cy@example.com,415-555-0199,$3.00,refunded\n"
    "W4,2024-03-04 13:00:00,dee@example.com,555-0100,$4.00,completed\n"
)


def test_a_western_shops_phones_are_judged_by_its_country_not_as_chinese_numbers(tmp_path):
    _, _, contract = _drafted(tmp_path, "shop.csv", WESTERN_SHOP)
    # read as Chinese numbers (the default country), three of four rows would be quarantined
    con, [as_chinese] = _ingest(tmp_path, contract, currency="USD")
    assert (as_chinese.rows_loaded, as_chinese.rows_quarantined) == (1, 3)
    con.close()
    (tmp_path / "w.duckdb").unlink()
    con, [result] = _ingest(tmp_path, contract.model_copy(update={"country": "US"}), currency="USD")
    assert (result.rows_loaded, result.rows_quarantined) == (3, 1)  # 555-0100 has no area code
    assert con.execute("select order_id, phone from raw.orders order by 1").fetchall() == [
        ("W1", "+14155550100"),
        ("W2", "+442079460958"),
        ("W3", "+14155550199"),
    ]


def test_an_unknown_country_is_refused(tmp_path):
    from pipeline.contracts.model import ContractError

    (tmp_path / "c.yml").write_text(
        "source: s\nentity: orders\npath: '*.csv'\nformat: csv\ncountry: XX\ncolumns: {a: order_id}\n", encoding="utf-8"
    )
    with pytest.raises(ContractError, match="country: Value error, unknown country 'XX'"):
        load_contract(tmp_path / "c.yml")


def test_an_erp_export_with_a_change_time_and_utc_stamps(tmp_path):
    sample = (
        "单据编号,单据日期,修改时间,客户编码,金额,单据状态\n"
        "SO1,2024-03-01 10:00:00 UTC,2024-03-02 08:00:00 UTC,K1,10.00,已审核\n"
        "SO2,2024-03-01 11:00:00 UTC,2024-03-01 11:00:00 UTC,K2,20.00,作废\n"
    )
    draft, _, contract = _drafted(tmp_path, "erp.csv", sample)
    assert contract.columns["修改时间"] == "updated_at"
    assert contract.datetime_formats == ["%Y-%m-%d %H:%M:%S UTC"]
    con, [result] = _ingest(tmp_path, contract)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 0)
    # a stamp that says UTC is that instant, in the warehouse's zone (Asia/Shanghai), whatever the contract's zone
    assert con.execute(
        "select order_id, ordered_at::varchar, updated_at::varchar, status from raw.orders order by 1"
    ).fetchall() == [
        ("SO1", "2024-03-01 18:00:00", "2024-03-02 16:00:00", "completed"),
        ("SO2", "2024-03-01 19:00:00", "2024-03-01 19:00:00", "cancelled"),
    ]
