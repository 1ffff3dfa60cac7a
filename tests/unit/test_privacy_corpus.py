"""The privacy corpus (tests/corpus/privacy_*/case.yml): each case's files go through the real ingest (validation
pages written), then `crmgrade erase` of the person, with the outcome written in the case: the exit code and what
the command says, the quarantined rows left, and no byte of the person's values left in the warehouse file, the
reports, the outbox or the privacy folder (as `grep -a` would find them, in UTF-8 and in UTF-16)."""

import json
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import yaml

from pipeline.cli import main
from pipeline.contracts.model import load_contract
from pipeline.ingest.loader import IngestOptions, ingest_contract
from tests.conftest import bytes_holding

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
CASES = sorted(p.parent.name for p in CORPUS.glob("*/case.yml") if "erase" in (p.read_text(encoding="utf-8")))


@pytest.fixture(autouse=True)
def _environment_kept():
    """`crmgrade erase` exports the settings' environment (the dbt profile's variables): undone after each case."""
    import os

    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


class Crash(BaseException):
    """The process killed at a step (not an error the command could catch)."""


def test_the_privacy_corpus_covers_every_case_of_the_issue():
    assert len(CASES) >= 8


def _ingest(case_dir: Path, case: dict, tmp_path: Path) -> tuple[Path, Path]:
    """The case's steps ingested into tmp_path/w.duckdb with a crmgrade.yml beside it: (config, warehouse)."""
    contract_file = (
        case_dir / "contract.yml" if case["contract"] == "own" else CORPUS / "contracts" / f"{case['contract']}.yml"
    )
    contracts, root, warehouse = tmp_path / "contracts", tmp_path / "source", tmp_path / "w.duckdb"
    contracts.mkdir()
    shutil.copy(contract_file, contracts / "case.yml")
    contract = load_contract(contracts / "case.yml")
    con = duckdb.connect(str(warehouse))
    try:
        for i, step in enumerate(case["steps"], start=1):
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            for target, rel in step["files"].items():
                shutil.copy(case_dir / rel, root / target)
            options = IngestOptions(
                warehouse_tz="Asia/Shanghai",
                run_id=f"step{i}",
                now=datetime(2026, 6, 30),
                docs_dir=tmp_path / "reports" / "validation" / f"step{i}",
            )
            ingest_contract(con, contract, root, options=options)
    finally:
        con.close()
    config = tmp_path / "crmgrade.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "warehouse": str(warehouse),
                "sources": {"root": str(root), "contracts": str(contracts)},
                "reports_dir": str(tmp_path / "reports"),
                "outbox_dir": str(tmp_path / "outbox"),
                "serving": {"dir": str(tmp_path / "serving")},
                "privacy": {"dir": str(tmp_path / "privacy")},
            }
        ),
        encoding="utf-8",
    )
    return config, warehouse


@pytest.mark.parametrize("name", CASES)
def test_case(name, tmp_path, capsys, monkeypatch):
    case_dir = CORPUS / name
    case = yaml.safe_load((case_dir / "case.yml").read_text(encoding="utf-8"))
    erase, expect = case["erase"], case["erase"]["expect"]
    config, warehouse = _ingest(case_dir, case, tmp_path)
    stores = [warehouse, tmp_path / "reports", tmp_path / "outbox", tmp_path / "privacy"]
    absent = expect.get("absent", [])
    # the values are there to be found before: a search that finds nothing proves nothing
    assert {v for v in absent if bytes_holding([v], stores)} == set(absent), "not planted"
    args = ["erase", "--config", str(config), "--by", "dpo", "--reason", name]
    args += [a for phone in erase.get("phone", []) for a in ("--phone", phone)]

    if erase.get("lock_held"):
        from pipeline.run_lock import exclusive_run

        with exclusive_run(warehouse, "crmgrade run"):
            code = main(args)
    elif crash := erase.get("crash_after"):
        # killed right after that step: nothing later ran, the journal is still open
        step = {"files": "delete_rows", "database": "rewrite_warehouse"}[crash]

        def killed(*_, **__):
            raise Crash(step)

        with monkeypatch.context() as patch:
            patch.setattr(f"pipeline.privacy.journal.{step}", killed)
            with pytest.raises(Crash):
                main(args)
        assert list((tmp_path / "privacy" / "erasures").glob("*.json")), "the journal is open"
        assert (tmp_path / "privacy" / "suppressions.csv").exists(), "suppressed before anything was scrubbed"
        code = main(args)
    else:
        code = main(args)
        if erase.get("twice"):
            capsys.readouterr()
            code = code or main(args)
    out = "".join(capsys.readouterr())
    assert code == expect["exit"], out
    if "message" in expect:
        assert expect["message"] in out, out
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        left = con.sql("select count(*) from dq.quarantine").fetchall()[0][0]
        present = [v for v in expect.get("present", []) if not _table_holding(con, v)]
    finally:
        con.close()
    assert left == expect["quarantine_left"]
    assert present == [], "someone else's data went too"
    assert bytes_holding(absent, stores) == []
    if code == 0:
        assert not list((tmp_path / "privacy" / "erasures").glob("*")), "the journal was closed"


def _table_holding(con: duckdb.DuckDBPyConnection, value: str) -> bool:
    columns = con.sql(
        "select schema_name, table_name, column_name from duckdb_columns() where data_type = 'VARCHAR'"
    ).fetchall()
    return any(
        con.execute(f'select count(*) from "{s}"."{t}" where contains("{c}", ?)', [value]).fetchall()[0][0]
        for s, t, c in columns
    )


def test_an_interrupted_erasure_is_finished_by_the_next_run_before_it_reads_anything(tmp_path, monkeypatch):
    from pipeline.config import load_settings
    from pipeline.runs.erase import finish_interrupted

    name = "privacy_erase_killed_after_the_database_commit"
    case = yaml.safe_load((CORPUS / name / "case.yml").read_text(encoding="utf-8"))
    config, warehouse = _ingest(CORPUS / name, case, tmp_path)
    with monkeypatch.context() as patch:
        patch.setattr("pipeline.privacy.journal.rewrite_warehouse", lambda *_: (_ for _ in ()).throw(Crash()))
        with pytest.raises(Crash):
            main(["erase", "--config", str(config), "--phone", "18038913590"])
    said = []
    assert finish_interrupted(load_settings(config), said.append) is None
    assert said[-1].startswith("Finished the interrupted erasure")
    assert not list((tmp_path / "privacy" / "erasures").glob("*"))
    stores = [warehouse, tmp_path / "reports", tmp_path / "privacy"]
    assert bytes_holding(case["erase"]["expect"]["absent"], stores) == []
    log = (tmp_path / "privacy" / "erasure_log.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["event"] for line in log] == ["started", "resumed", "completed"]


def test_an_erase_waits_for_a_run_dagster_started(tmp_path, monkeypatch, capsys):
    """A run from the Dagster daemon or UI does not hold the run lock: erase asks the instance of $DAGSTER_HOME."""
    import dagster as dg

    from pipeline.defs.automation.jobs import JOB_NAME

    name = "privacy_phone_with_an_extension"
    case = yaml.safe_load((CORPUS / name / "case.yml").read_text(encoding="utf-8"))
    config, _ = _ingest(CORPUS / name, case, tmp_path)
    (tmp_path / "dagster").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    with dg.DagsterInstance.get() as instance:
        instance.add_run(dg.DagsterRun(job_name=JOB_NAME, run_id="r-nightly", status=dg.DagsterRunStatus.STARTED))
    assert main(["erase", "--config", str(config), "--phone", "18038913590"]) == 1
    assert "Dagster run r-nightly is writing" in capsys.readouterr().err
    assert not (tmp_path / "privacy" / "erasures").exists()  # nothing begun


def test_a_dagster_home_not_made_yet_holds_no_run(tmp_path, monkeypatch):
    # `make test` exports DAGSTER_HOME before anything made it: erase must not fail asking it for runs
    from pipeline.defs.automation.jobs import active_run_in_dagster_home

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "not_made"))
    assert active_run_in_dagster_home() is None
    assert not (tmp_path / "not_made").exists()
