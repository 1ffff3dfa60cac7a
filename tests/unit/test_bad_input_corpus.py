"""The bad-input corpus (tests/corpus/<case>/case.yml): each case's files go through the real ingest and the
outcome must be exactly the one written in the case: loaded, quarantined under which rule, de-duplicated, or
stopped with which message, and every row read accounted for."""

import os
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import yaml

from pipeline.contracts.model import ContractError, load_contract
from pipeline.ingest.loader import IngestOptions, ingest_contract

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
CASES = sorted(p.parent.name for p in CORPUS.glob("*/case.yml"))


def test_the_corpus_has_at_least_thirty_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", CASES)
def test_case(name, tmp_path):
    case = yaml.safe_load((CORPUS / name / "case.yml").read_text(encoding="utf-8"))
    file = (
        CORPUS / name / "contract.yml"
        if case["contract"] == "own"
        else CORPUS / "contracts" / f"{case['contract']}.yml"
    )
    if "contract_error" in case:
        with pytest.raises(ContractError) as info:
            load_contract(file)
        assert case["contract_error"] in str(info.value)
        assert case.get("message_excludes", "\x00") not in str(info.value)
        return
    contract = load_contract(file)
    root = tmp_path / "source"
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    for i, step in enumerate(case["steps"], start=1):
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir()
        for target, rel in step["files"].items():
            if rel.startswith("link:"):
                os.symlink(rel.removeprefix("link:"), root / target)
            else:
                shutil.copy(CORPUS / name / rel, root / target)
        run_id = f"step{i}"
        options = IngestOptions(
            warehouse_tz="Asia/Shanghai",
            run_id=run_id,
            now=datetime(2026, 6, 30),
            currency=case.get("grading_currency", "CNY"),
        )
        results = {r.file: r for r in ingest_contract(con, contract, root, options=options)}
        assert sorted(results) == sorted(e["file"] for e in step["expect"]), f"step {i}"
        for expected in step["expect"]:
            r = results[expected["file"]]
            where = f"step {i} {r.file}"
            assert r.status == expected["status"], f"{where}: {r.status} ({r.message})"
            assert r.rows_loaded == expected["loaded"], where
            assert r.rows_duplicate == expected.get("duplicates", 0), where
            assert r.orders_redelivered == expected.get("redelivered", 0), where
            stored = con.execute(
                "select orders_redelivered from dq.reconciliation where run_id = ? and file = ?", [run_id, r.file]
            ).fetchall()
            assert {n for (n,) in stored} <= {expected.get("redelivered", 0)}, f"{where}: dq.reconciliation"
            by_rule = dict(
                con.execute(
                    "select rule, count(distinct row_number) from dq.quarantine where run_id = ? and file = ?"
                    " group by 1",
                    [run_id, r.file],
                ).fetchall()
            )
            assert by_rule == expected.get("quarantined", {}), where
            if "message" in expected:
                assert expected["message"] in (r.message or ""), f"{where}: {r.message}"
            if "message_excludes" in expected:
                # Neither the result nor dq.reconciliation (which erasure does not reach) holds the row's values.
                stored = con.execute(
                    "select message from dq.reconciliation where run_id = ? and file = ?", [run_id, r.file]
                )
                assert expected["message_excludes"] not in (r.message or ""), where
                assert all(expected["message_excludes"] not in (m or "") for (m,) in stored.fetchall()), where
            for column, values in expected.get("values", {}).items():
                rows = con.execute(
                    f"select {column}::varchar from raw.{contract.entity} where _source_file = ? order by _row_number",
                    [r.file],
                ).fetchall()
                assert [v for (v,) in rows] == values, f"{where}: {column}"
            if "row_numbers" in expected:
                rows = con.execute(
                    f"select _row_number from raw.{contract.entity} where _source_file = ? order by 1", [r.file]
                ).fetchall()
                assert [n for (n,) in rows] == expected["row_numbers"], where
            counted = con.execute(
                "select rows_read from dq.reconciliation where run_id = ? and file = ?", [run_id, r.file]
            ).fetchall()
            assert all(n is not None for (n,) in counted), f"{where}: rows_read is not counted"
            if "reason" in expected:
                reasons = [
                    x for (x,) in con.execute("select reason from dq.quarantine where run_id = ?", [run_id]).fetchall()
                ]
                assert any(expected["reason"] in x for x in reasons), reasons
            if "table_rows" in expected:
                n = con.execute(
                    f"select count(*) from raw.{contract.entity} where _source_file = ?", [r.file]
                ).fetchall()[0][0]
                assert n == expected["table_rows"], where
        # Nothing lost: every file judged in this step balances, recounted from the tables.
        from pipeline.quality.reconcile import reconciliation_problems

        assert reconciliation_problems(con, contract.entity, run_id) == []
