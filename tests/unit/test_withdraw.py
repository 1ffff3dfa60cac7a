"""A loaded file gone from the source folder: named every run, its rows kept until `crmgrade source withdraw`."""

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from pipeline.cli import main
from pipeline.contracts.model import load_contract
from pipeline.ingest.loader import IngestOptions, ingest_contract
from pipeline.ingest.withdraw import GoneFile, WithdrawError, gone_files, withdraw

CONTRACT = load_contract(Path(__file__).parents[1] / "corpus" / "contracts" / "orders_csv.yml")
H = "订单编号,手机,实付金额,退款金额,下单时间,状态\n"
MARCH = H + "A1,13812345678,100,0,2024-03-05 14:22:01,成功\nA2,13812345679,20,0,2024-03-06 09:00:00,成功\n"
APRIL = H + "A3,13812345670,35,0,2024-04-07 10:00:00,成功\nA4,,x,0,2024-04-08 10:00:00,成功\n"


def _ingest(con, root, run_id):
    options = IngestOptions(warehouse_tz="Asia/Shanghai", run_id=run_id, now=datetime(2026, 6, 30))
    return {r.file: r.status for r in ingest_contract(con, CONTRACT, root, options=options)}


@pytest.fixture
def loaded(tmp_path):
    root = tmp_path / "exports"
    root.mkdir()
    (root / "2024-03.csv").write_text(MARCH, encoding="utf-8")
    (root / "2024-04.csv").write_text(APRIL, encoding="utf-8")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert _ingest(con, root, "r1") == {"2024-03.csv": "loaded", "2024-04.csv": "loaded"}
    yield con, root
    con.close()


def test_a_file_gone_from_the_folder_is_named_and_its_rows_stay(loaded):
    con, root = loaded
    assert gone_files(con, [CONTRACT], root) == []
    (root / "2024-04.csv").unlink()
    assert _ingest(con, root, "r2") == {"2024-03.csv": "unchanged"}
    assert gone_files(con, [CONTRACT], root) == [GoneFile("corpus", "orders", "2024-04.csv", 1)]
    assert con.execute("select count(*) from raw.orders").fetchall() == [(3,)]


def test_withdraw_takes_the_files_rows_out_and_records_it(loaded):
    con, root = loaded
    with pytest.raises(WithdrawError, match="still in .*: the next run would load it again"):
        withdraw(con, [CONTRACT], root, "2024-04.csv")
    (root / "2024-04.csv").unlink()
    with pytest.raises(WithdrawError, match=r"no file '2024-4.csv' is loaded \(did you mean '2024-04.csv'\?\)"):
        withdraw(con, [CONTRACT], root, "2024-4.csv")
    done = withdraw(con, [CONTRACT], root, "2024-04.csv", now=datetime(2026, 7, 1))
    assert (done.rows_removed, done.quarantined_removed) == (1, 1)
    assert con.execute("select order_id from raw.orders order by 1").fetchall() == [("A1",), ("A2",)]
    assert con.execute("select count(*) from dq.quarantine where file = '2024-04.csv'").fetchall() == [(0,)]
    assert con.execute("select source, file, rows_removed, quarantined_removed from dq.withdrawals").fetchall() == [
        ("corpus", "2024-04.csv", 1, 1)
    ]
    assert gone_files(con, [CONTRACT], root) == []
    # put back, it is a new file again
    (root / "2024-04.csv").write_text(APRIL, encoding="utf-8")
    assert _ingest(con, root, "r3") == {"2024-03.csv": "unchanged", "2024-04.csv": "loaded"}
    assert con.execute("select count(*) from raw.orders").fetchall() == [(3,)]


def test_the_command_withdraws_under_the_run_lock(tmp_path, capsys):
    from pipeline.run_lock import exclusive_run

    root, contracts = tmp_path / "exports", tmp_path / "contracts"
    root.mkdir()
    contracts.mkdir()
    (contracts / "orders.yml").write_text(
        (Path(__file__).parents[1] / "corpus" / "contracts" / "orders_csv.yml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    (root / "2024-03.csv").write_text(MARCH, encoding="utf-8")
    warehouse = tmp_path / "w.duckdb"
    con = duckdb.connect(str(warehouse))
    _ingest(con, root, "r1")
    con.close()
    config = tmp_path / "crmgrade.yml"
    config.write_text(f"warehouse: {warehouse}\nsources: {{root: {root}, contracts: {contracts}}}\n", encoding="utf-8")
    (root / "2024-03.csv").unlink()
    with exclusive_run(warehouse):  # a run is writing: the command waits for nobody and changes nothing
        assert main(["source", "withdraw", "2024-03.csv", "--config", str(config)]) == 1
    assert "is being written by another run" in capsys.readouterr().err
    assert main(["source", "withdraw", "2024-03.csv", "--config", str(config)]) == 0
    assert "Withdrew 2024-03.csv (corpus, orders): 2 rows out of raw.orders" in capsys.readouterr().out
    assert duckdb.connect(str(warehouse)).execute("select count(*) from raw.orders").fetchall() == [(0,)]


def test_the_run_summary_lists_the_files_gone(tmp_path, monkeypatch):
    import pipeline.runs.summary as summary

    monkeypatch.setattr(summary, "collect", lambda warehouse: {})
    monkeypatch.setattr(summary, "render", lambda *a: "# crmgrade run summary\n\nWarehouse: w.duckdb\n")
    text, _ = summary.write_summary(tmp_path / "w.duckdb", tmp_path, gone=[GoneFile("pos", "orders", "d1.csv", 1200)])
    assert text == (
        "# crmgrade run summary\n\n## Files gone from the source folder (their rows stay loaded)\n\n"
        "- pos d1.csv: 1,200 rows in raw.orders\n\n"
        "`crmgrade source withdraw FILE` takes a file's rows out; a file put back is judged again.\n\n"
        "Warehouse: w.duckdb\n"
    )
