"""bench.pipeline --resume: a size's stages recorded in bench_state.json are not run again; a full refresh cut
short runs again from an empty warehouse, an increment cut short says so."""

from datetime import date
from pathlib import Path

import pytest

import bench.pipeline as bp
from tests.unit.test_bench_pipeline_table import _baseline, _run


class Killed(BaseException):
    """Stands in for the process being killed mid-stage: nothing after it runs, not even `except Exception`."""


@pytest.fixture
def fake_runs(monkeypatch):
    calls: list[str] = []
    kill_at: set[str] = set()

    def generate(out: Path, spec, progress) -> None:
        calls.append("generate")
        (out / "increments" / spec.daily_from.isoformat() / "pos").mkdir(parents=True)
        (out / "increments" / spec.daily_from.isoformat() / "pos" / "pos_20260630.csv").write_text("x\n")
        (out / "pos").mkdir()
        (out / "pos" / "pos_202605.csv").write_text("x\n")

    def measure_run(work: Path, config: Path, as_of: date, name: str) -> dict:
        calls.append(f"{name}:{sorted(p.name for p in work.iterdir())}")
        (work / "warehouse.duckdb").write_text(name)  # what a run leaves behind
        if name in kill_at:
            kill_at.discard(name)
            raise Killed
        return _run(100.0 if name == "full" else 10.0)

    def measure_baseline(work: Path, as_of: date) -> dict:
        calls.append("baseline")
        return {**_baseline(), "wall_seconds": 50.0}

    monkeypatch.setattr(bp, "generate", generate)
    monkeypatch.setattr(bp, "measure_run", measure_run)
    monkeypatch.setattr(bp, "measure_baseline", measure_baseline)
    return calls, kill_at


def test_resume_goes_on_from_the_stage_cut_short(tmp_path, fake_runs):
    calls, kill_at = fake_runs
    work = tmp_path / "orders_60"
    kill_at.add("full")
    with pytest.raises(Killed):
        bp.bench_size(60, work, seed=1, memory_limit="1GB")
    assert calls == ["generate", "full:['bench_state.json', 'crmgrade.yml', 'increment', 'sources']"]

    # the full refresh again, from an empty warehouse (the killed attempt's file removed), not the generation
    calls.clear()
    kill_at.add("increment")
    with pytest.raises(Killed):
        bp.bench_size(60, work, seed=1, memory_limit="1GB", resume=True)
    assert calls == [
        "full:['bench_state.json', 'crmgrade.yml', 'increment', 'sources']",
        "baseline",
        "increment:['bench_state.json', 'crmgrade.yml', 'increment', 'sources', 'warehouse.duckdb']",
    ]
    assert (work / "sources" / "pos" / "pos_20260630.csv").exists()  # delivered before the increment ran

    calls.clear()
    result = bp.bench_size(60, work, seed=1, memory_limit="1GB", resume=True)
    assert calls == ["increment:['bench_state.json', 'crmgrade.yml', 'increment', 'sources', 'warehouse.duckdb']"]
    assert result["full_over_baseline"] == 2.0
    assert result["increment_over_baseline"] == 0.2
    assert result["increment"]["after_interrupted_attempt"] is True
    assert "after_interrupted_attempt" not in result["full_refresh"]

    # all recorded: nothing runs again; without --resume everything does
    calls.clear()
    assert bp.bench_size(60, work, seed=1, memory_limit="1GB", resume=True) == result
    assert calls == []
    bp.bench_size(60, work, seed=1, memory_limit="1GB")
    assert calls[0] == "generate"
    assert (
        bp.bench_size(60, work, seed=1, memory_limit="1GB", resume=True)["increment"]["after_interrupted_attempt"]
        is False
    )


def test_resume_needs_keep(monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["bench.pipeline", "--resume"])
    with pytest.raises(SystemExit):
        bp.main()
    assert "--resume needs --keep" in capsys.readouterr().err
