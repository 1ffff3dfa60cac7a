"""The crmgrade command: exit codes and messages on bad input."""

import shutil
from pathlib import Path

import pytest

from pipeline.cli import main
from tests.conftest import CONTRACTS


def config(tmp_path: Path, contracts: Path, extra: str = "") -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    path = tmp_path / "crmgrade.yml"
    path.write_text(f"warehouse: w.duckdb\nsources:\n  root: src\n  contracts: {contracts}\n{extra}", encoding="utf-8")
    return path


def test_unknown_config_key_exits_1_naming_file_and_key(tmp_path, capsys):
    path = config(tmp_path, CONTRACTS, "reports_dri: x\n")
    assert main(["run", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"crmgrade: error: {path}: reports_dri: unknown key (did you mean 'reports_dir'?)" in err


def test_contract_typo_exits_1_naming_contract_file_and_key(tmp_path, capsys):
    contracts = tmp_path / "contracts"
    shutil.copytree(CONTRACTS, contracts)
    pdd = contracts / "pdd.yml"
    pdd.write_text(pdd.read_text(encoding="utf-8").replace("delimiter:", "delimeter:"), encoding="utf-8")
    assert main(["run", "--config", str(config(tmp_path, contracts))]) == 1
    err = capsys.readouterr().err
    assert f"{pdd}: delimeter: unknown key (did you mean 'delimiter'?)" in err


def test_missing_config_file_exits_1(tmp_path, capsys):
    assert main(["run", "--config", str(tmp_path / "none.yml")]) == 1
    assert "config file not found" in capsys.readouterr().err


def test_demo_data_command(tmp_path, capsys):
    assert main(["demo-data", "--out", str(tmp_path / "d"), "--customers", "50", "--seed", "1"]) == 0
    assert (tmp_path / "d/truth/records.parquet").exists()
    assert "50 customers, 300 orders, seed 1" in capsys.readouterr().out


def test_bad_argument_exits_nonzero(tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["demo-data", "--out", str(tmp_path), "--customers", "many"])
    assert info.value.code == 2


def test_a_dbt_project_that_does_not_parse_exits_1_with_dbts_message(tmp_path, capsys, monkeypatch):
    from dagster_dbt.errors import DagsterDbtCliRuntimeError

    import pipeline.defs.dbt.project

    def broken(dbt_vars=None):
        raise DagsterDbtCliRuntimeError("Compilation Error in model fct_customer (models/marts/fct_customer.sql)")

    monkeypatch.setattr(pipeline.defs.dbt.project, "prepare_manifest", broken)
    assert main(["run", "--config", str(config(tmp_path, CONTRACTS)), "--as-of", "2026-01-01"]) == 1
    captured = capsys.readouterr()
    assert "the dbt project does not parse: Compilation Error in model fct_customer" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_as_of_must_be_a_date(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["run", "--config", str(config(tmp_path, CONTRACTS)), "--as-of", "yesterday"])
    assert "--as-of" in capsys.readouterr().err


def test_a_bad_grading_spec_stops_the_run_before_any_work(tmp_path, capsys):
    spec = tmp_path / "grading.yml"
    spec.write_text(
        (CONTRACTS.parent.parent / "grading.yml")
        .read_text(encoding="utf-8")
        .replace("lookback_days: 730", "lookback_days: -1"),
        encoding="utf-8",
    )
    assert main(["run", "--config", str(config(tmp_path, CONTRACTS, f"grading: {spec}\n"))]) == 1
    err = capsys.readouterr().err
    assert f"{spec}: lookback_days:" in err and "greater than or equal to 1" in err
    assert not (tmp_path / "w.duckdb").exists()


def test_backfill_runs_each_date_in_order_and_stops_at_the_first_failure(monkeypatch, capsys):
    from datetime import date

    import pipeline.cli.run

    calls = []

    def fake_run(config_file, as_of=None):
        calls.append(as_of)
        return 1 if as_of == date(2026, 7, 3) else 0

    monkeypatch.setattr(pipeline.cli.run, "run_and_report", fake_run)
    assert main(["backfill", "--config", "c.yml", "--from", "2026-07-01", "--to", "2026-07-02"]) == 0
    assert calls == [date(2026, 7, 1), date(2026, 7, 2)]
    calls.clear()
    assert main(["backfill", "--from", "2026-07-02", "--to", "2026-07-05"]) == 1
    assert calls == [date(2026, 7, 2), date(2026, 7, 3)]
    assert "the run as of 2026-07-03 failed; 2 later date(s) not run" in capsys.readouterr().err
    assert main(["backfill", "--from", "2026-07-05", "--to", "2026-07-01"]) == 1
