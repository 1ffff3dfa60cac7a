"""Why nothing was graded: the rule that quarantined the orders, named with what it checks."""

from datetime import datetime
from pathlib import Path

import duckdb

from pipeline.contracts.model import load_contract
from pipeline.ingest.loader import IngestOptions, ensure_raw_tables, ingest_contract
from pipeline.quality.explain import why_nothing_graded

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
HEADER = "订单编号,手机,实付金额,退款金额,下单时间,状态\n"


def _warehouse(tmp_path: Path, rows: str | None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_raw_tables(con)
    if rows is not None:
        (tmp_path / "src").mkdir()
        (tmp_path / "src" / "o.csv").write_text(HEADER + rows, encoding="utf-8")
        options = IngestOptions(warehouse_tz="Asia/Shanghai", run_id="r", now=datetime(1998, 7, 1))
        ingest_contract(con, load_contract(CORPUS / "contracts" / "orders_csv.yml"), tmp_path / "src", options=options)
    return con


def test_every_order_quarantined_names_the_rule_and_what_it_checks(tmp_path):
    # graded as of 1998 while the export says 2024: every order is "in the future"
    con = _warehouse(tmp_path, "A1,,10,0,2024-03-05 14:22:01,成功\nA2,,10,0,2024-03-06 14:22:01,成功\n")
    reason = why_nothing_graded(con)
    assert reason.startswith("no order was loaded; quarantined by ordered_at__to_be_between (2 rows): ")
    assert "ordered_at is not in the future" in reason


def test_no_contract_for_orders_says_so(tmp_path):
    assert "no source contract maps entity `orders`" in why_nothing_graded(_warehouse(tmp_path, None))


def test_orders_loaded_but_no_purchase(tmp_path):
    con = _warehouse(tmp_path, "A1,,10,0,1998-03-05 14:22:01,关闭\n")
    assert why_nothing_graded(con, "1998-07-01").startswith("1 order lines were loaded, but none is a purchase")


def test_a_stopped_file_is_named_until_a_later_version_loads(tmp_path):
    con = _warehouse(tmp_path, "")  # a header and no rows: the file is rejected (row count below 1)
    assert "file corpus o.csv rejected: table__row_count_to_be_between: observed 0" in why_nothing_graded(con)
    (tmp_path / "src" / "o.csv").write_text(HEADER + "A1,,10,0,2024-03-05 14:22:01,成功\n", encoding="utf-8")
    options = IngestOptions(warehouse_tz="Asia/Shanghai", run_id="r2", now=datetime(1998, 7, 1))
    ingest_contract(con, load_contract(CORPUS / "contracts" / "orders_csv.yml"), tmp_path / "src", options=options)
    assert "rejected" not in why_nothing_graded(con)  # its latest judgement quarantined a row, it did not stop
