"""Readers, typing and loading: every format, encoding, masked phones, derived fields, errors, idempotency."""

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.contracts.model import SourceContract
from pipeline.ingest.loader import IngestOptions, ingest_contract
from pipeline.ingest.readers import SourceReadError, read_source_file
from pipeline.ingest.transform import to_canonical

NOW = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)
OPTIONS = IngestOptions(warehouse_tz="Asia/Shanghai", run_id="test-run", now=datetime(2026, 6, 30))

ORDERS = {
    "source": "shop",
    "entity": "orders",
    "path": "*.csv",
    "format": "csv",
    "columns": {
        "订单编号": "order_id",
        "手机": "phone",
        "实付金额": "amount",
        "下单时间": "ordered_at",
        "状态码": {"name": "status_code", "type": "integer"},
    },
    "derived": {"status": "case when status_code = 4 then 'cancelled' else 'completed' end"},
    "datetime_formats": ["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M"],
}
CSV = (
    "订单编号,手机,实付金额,下单时间,状态码\n"
    'A1,138****1234,"1,299.50",2024-03-05 14:22:01,1\n'
    ",13812345678,￥20,2024/03/06 09:00,4\n"
    "A3,,abc,2024-13-45 10:00:00,1\n"
)


def canonical(path: Path, contract: SourceContract, tmp_path: Path, tz: str = "Asia/Shanghai") -> pl.DataFrame:
    lf = read_source_file(path, contract, tmp_path).frame.lazy()
    return to_canonical(
        lf, contract, source_file=path.name, file_sha256="x", ingested_at=NOW, warehouse_tz=tz
    ).collect()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_encoding(tmp_path, encoding):
    path = tmp_path / "orders.csv"
    path.write_bytes(CSV.encode(encoding))
    df = canonical(path, SourceContract(**{**ORDERS, "encoding": encoding}), tmp_path)
    assert df["phone"].to_list() == ["+86138****1234", "+8613812345678", None]  # E.164, masked kept masked
    assert df["amount"].to_list() == [Decimal("1299.50"), Decimal("20.00"), None]
    assert df["ordered_at"].to_list() == [datetime(2024, 3, 5, 14, 22, 1), datetime(2024, 3, 6, 9, 0), None]
    assert df["status"].to_list() == ["completed", "cancelled", "completed"]
    # Row numbers are the lines a person sees: the header is line 1.
    assert df["_row_number"].to_list() == [2, 3, 4]
    # A missing order id is derived from source, file and row.
    assert df["order_id"].to_list() == ["A1", "shop:orders.csv:3", "A3"]
    # Values that do not parse are named, never silently nulled.
    assert df["_parse_errors"].to_list() == [None, None, "amount=abc; ordered_at=2024-13-45 10:00:00"]


def test_delimiter_header_row_and_null_markers(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(
        "导出时间 2024-01-01\n\n订单编号;手机;实付金额;下单时间;状态码\nB1;N/A;5;2024-01-01 00:00:00;1\n",
        encoding="utf-8",
    )
    contract = SourceContract(**{**ORDERS, "delimiter": ";", "header_row": 3})
    df = canonical(path, contract, tmp_path)
    assert df["phone"].to_list() == [None]
    assert df["_row_number"].to_list() == [4]


def test_source_time_zone_converted_to_warehouse_time_zone(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("订单编号,手机,实付金额,下单时间,状态码\nC1,,1,2024-03-05 16:30:00,1\n", encoding="utf-8")
    df = canonical(path, SourceContract(**{**ORDERS, "timezone": "UTC"}), tmp_path)
    assert df["ordered_at"].to_list() == [datetime(2024, 3, 6, 0, 30)]


def test_a_line_with_invalid_bytes_is_set_aside_naming_its_line(tmp_path):
    path = tmp_path / "bad.csv"
    header = "订单编号,手机,实付金额,下单时间,状态码\n".encode("gbk")
    path.write_bytes(header + b"A1,\xff\xff,1,x,1\n" + "A2,13812345678,1,x,1\n".encode("gbk"))
    read = read_source_file(path, SourceContract(**{**ORDERS, "encoding": "gbk"}), tmp_path)
    assert read.frame["订单编号"].to_list() == ["A2"]
    assert read.frame["_row_number"].to_list() == [3]
    assert read.malformed.rows() == [
        (2, "A1,\\xff\\xff,1,x,1", f"byte offset {len(header) + 3} is not valid gbk (illegal multibyte sequence)")
    ]
    assert read.rows_read == 2


def test_invalid_bytes_in_the_header_name_file_and_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"\xff\xff,x\nA1,1\n")
    with pytest.raises(SourceReadError, match=r"bad.csv: line 1: byte offset 0 is not valid gbk"):
        read_source_file(path, SourceContract(**{**ORDERS, "encoding": "gbk"}), tmp_path)


def test_missing_column_is_reported_not_raised(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("订单编号,手机,下单时间,状态码\nA,1,2024-01-01 00:00:00,1\n", encoding="utf-8")
    read = read_source_file(path, SourceContract(**ORDERS), tmp_path)
    assert read.missing_columns(SourceContract(**ORDERS)) == ["实付金额"]


def test_xlsx_with_title_rows_and_date_cells(tmp_path):
    import xlsxwriter

    path = tmp_path / "dealer.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["华东经销商 销售报表"])
    ws.write_row(2, 0, ["Invoice No", "Tel", "Invoice Date", "Qty", "Unit Price"])
    ws.write_row(3, 0, ["INV1", "13812345678"])
    ws.write_datetime(3, 2, datetime(2024, 5, 1), wb.add_format({"num_format": "yyyy-mm-dd"}))
    ws.write_row(3, 3, [3, 9.9])
    wb.close()
    contract = SourceContract(
        source="dealer",
        entity="orders",
        path="*.xlsx",
        format="xlsx",
        header_row=3,
        grain="order_line",
        columns={
            "Invoice No": "order_id",
            "Tel": "phone",
            "Invoice Date": "ordered_at",
            "Qty": "quantity",
            "Unit Price": "unit_price",
        },
        derived={"amount": "quantity * unit_price"},
        datetime_formats=["%Y-%m-%d %H:%M:%S"],
    )
    df = canonical(path, contract, tmp_path)
    assert df.select("order_id", "phone", "ordered_at", "quantity", "amount", "_row_number").rows() == [
        ("INV1", "+8613812345678", datetime(2024, 5, 1), 3, Decimal("29.70"), 4)
    ]


def test_jsonl_with_missing_keys_and_numbers(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text(
        '{"id": "E1", "ts": "2024-01-01T00:00:00Z", "sec": 30}\n{"id": "E2", "ts": "bad"}\n', encoding="utf-8"
    )
    contract = SourceContract(
        source="events",
        entity="interactions",
        path="*.jsonl",
        format="jsonl",
        timezone="UTC",
        columns={"id": "interaction_id", "ts": "occurred_at", "sec": "duration_seconds"},
        datetime_formats=["%Y-%m-%dT%H:%M:%SZ"],
    )
    df = canonical(path, contract, tmp_path)
    assert df["occurred_at"].to_list() == [datetime(2024, 1, 1, 8, 0), None]
    assert df["duration_seconds"].to_list() == [30, None]
    assert df["_row_number"].to_list() == [1, 2]
    assert df["_parse_errors"].to_list() == [None, "occurred_at=bad"]


def test_parquet_and_booleans_and_dates(tmp_path):
    path = tmp_path / "m.parquet"
    pl.DataFrame({"no": ["M1", "M2"], "bd": ["1990-02-03", "1990/02/04"], "ok": ["是", "maybe"]}).write_parquet(path)
    contract = SourceContract(
        source="members",
        entity="customers",
        path="*.parquet",
        format="parquet",
        columns={"no": "member_id", "bd": "birth_date", "ok": "consent_marketing"},
        date_formats=["%Y-%m-%d", "%Y/%m/%d"],
    )
    df = canonical(path, contract, tmp_path)
    assert df["birth_date"].to_list() == [date(1990, 2, 3), date(1990, 2, 4)]
    assert df["consent_marketing"].to_list() == [True, None]
    assert df["_parse_errors"].to_list() == [None, "consent_marketing=maybe"]


def test_ingest_is_idempotent_and_a_changed_file_replaces_its_rows(tmp_path):
    root = tmp_path / "src"
    root.mkdir()
    (root / "a.csv").write_text(CSV, encoding="utf-8")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    contract = SourceContract(**ORDERS)

    def count():
        return con.execute("select count(*) from raw.orders").fetchall()[0][0]

    first = ingest_contract(con, contract, root, options=OPTIONS)
    # Row 4 has an amount 'abc' and a date in month 13: quarantined, the two others load.
    assert [(r.file, r.status, r.rows_read, r.rows, r.rows_quarantined) for r in first] == [
        ("a.csv", "loaded", 3, 2, 1)
    ]
    lineage = con.execute(
        "select _source, _source_file, _row_number, length(_file_sha256), _ingested_at is not null"
        " from raw.orders order by _row_number"
    ).fetchall()
    assert lineage == [("shop", "a.csv", 2, 64, True), ("shop", "a.csv", 3, 64, True)]

    again = ingest_contract(con, contract, root, options=OPTIONS)
    assert [(r.status, r.rows) for r in again] == [("unchanged", 0)]
    assert count() == 2

    # The same content under another name adds nothing.
    (root / "a_copy.csv").write_text(CSV, encoding="utf-8")
    copy = ingest_contract(con, contract, root, options=OPTIONS)
    assert [(r.file, r.status) for r in copy] == [("a.csv", "unchanged"), ("a_copy.csv", "duplicate_file")]
    assert count() == 2

    # A corrected export under the same name replaces that file's rows.
    header = CSV.splitlines()[0]
    rows = "".join(f"\n{i},,1,2024-01-01 00:00:00,1" for i in ("Z7", "Z8", "Z9"))
    (root / "a.csv").write_text(header + rows + "\n", encoding="utf-8")
    changed = ingest_contract(con, contract, root, options=OPTIONS)
    assert [(r.file, r.status, r.rows) for r in changed] == [("a.csv", "replaced", 3), ("a_copy.csv", "unchanged", 0)]
    loaded = [("Z7",), ("Z8",), ("Z9",)]
    assert con.execute("select order_id from raw.orders order by 1").fetchall() == loaded
    manifest = con.execute("select file_path, status, rows_loaded, duplicate_of from raw._ingest_manifest order by 1")
    assert manifest.fetchall() == [("a.csv", "replaced", 3, None), ("a_copy.csv", "duplicate", 0, "a.csv")]

    # A re-delivery that lost more than max_volume_drop (half) of its rows is rejected; the old rows stay.
    (root / "a.csv").write_text(header + "\nZ1,,1,2024-01-01 00:00:00,1\n", encoding="utf-8")
    [shrunk] = [r for r in ingest_contract(con, contract, root, options=OPTIONS) if r.file == "a.csv"]
    assert shrunk.status == "rejected" and shrunk.message.startswith("table__row_count_to_be_between")
    assert con.execute("select order_id from raw.orders order by 1").fetchall() == loaded


def test_rejected_replacement_leaves_previous_rows(tmp_path):
    root = tmp_path / "src"
    root.mkdir()
    (root / "a.csv").write_text(CSV, encoding="utf-8")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ingest_contract(con, SourceContract(**ORDERS), root, options=OPTIONS)
    (root / "a.csv").write_text("订单编号,手机\nA,1\n", encoding="utf-8")  # columns lost in a new export
    [result] = ingest_contract(con, SourceContract(**ORDERS), root, options=OPTIONS)
    assert result.status == "rejected" and "实付金额" in result.message
    assert con.execute("select count(*) from raw.orders").fetchall()[0][0] == 2


def test_an_older_warehouse_keeps_its_amounts_when_decimals_widen(tmp_path):
    import duckdb

    from pipeline.ingest.loader import ensure_raw_tables

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema raw")
    con.execute("create table raw.orders (order_id varchar, amount decimal(18, 2))")
    con.execute("insert into raw.orders values ('A1', 1299.50)")
    con.execute("create view main.v as select amount from raw.orders")  # dbt's views stay valid
    ensure_raw_tables(con)
    kinds = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = 'raw' and table_name = 'orders' and column_name in ('amount', 'currency')"
        ).fetchall()
    )
    assert kinds == {"amount": "DECIMAL(18,4)", "currency": "VARCHAR"}
    assert con.execute("select amount::varchar from main.v").fetchall() == [("1299.5000",)]


def test_a_run_killed_between_files_keeps_the_deliveries_of_the_files_it_judged(tmp_path):
    root = tmp_path / "src"
    root.mkdir()
    (root / "a.csv").write_text(CSV, encoding="utf-8")
    header = CSV.splitlines()[0]
    (root / "b.csv").write_text(header + "\nB1,,5,2024-01-01 00:00:00,1\nB2,,6,2024-01-02 00:00:00,1\n", "utf-8")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    contract = SourceContract(**ORDERS)
    killed = IngestOptions(warehouse_tz="Asia/Shanghai", run_id="killed", now=NOW, as_of_date=date(2026, 5, 1))

    def die_after_the_first_file(result):
        raise KeyboardInterrupt  # the process is killed once a.csv is committed, before b.csv is read

    with pytest.raises(KeyboardInterrupt):
        ingest_contract(con, contract, root, options=killed, on_file=die_after_the_first_file, batch_rows=1)
    deliveries = "select run_id, as_of_date, source, files_judged, files_stopped, rows_read, rows_loaded,"
    deliveries += " rows_quarantined, rows_duplicate from dq.deliveries order by run_id"
    # a.csv: 3 rows read, 2 loaded, 1 quarantined, under the killed run's as-of date
    assert con.execute(deliveries).fetchall() == [("killed", date(2026, 5, 1), "shop", 1, 0, 3, 2, 1, 0)]
    # The next run sees a.csv unchanged and judges only b.csv: nothing of a.csv is lost from the deliveries.
    nxt = IngestOptions(warehouse_tz="Asia/Shanghai", run_id="next", now=NOW, as_of_date=date(2026, 5, 2))
    statuses = [(r.file, r.status) for r in ingest_contract(con, contract, root, options=nxt)]
    assert statuses == [("a.csv", "unchanged"), ("b.csv", "loaded")]
    assert con.execute(deliveries).fetchall() == [
        ("killed", date(2026, 5, 1), "shop", 1, 0, 3, 2, 1, 0),
        ("next", date(2026, 5, 2), "shop", 1, 0, 2, 2, 0, 0),
    ]
