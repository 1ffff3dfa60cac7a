"""Helpers of the end-to-end tests: materialize the real assets, query a warehouse, rebuild models on a copy."""

import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from pipeline.config import load_settings
from pipeline.defs.dbt.project import dbt_resource
from pipeline.defs.resources import CrmgradeSettings, DuckDBWarehouse
from pipeline.ingest.judged_files import judged_files_path
from tests.conftest import REPO, write_run_config


def materialize(
    config: Path, warehouse: Path, selection=None, raise_on_error=True, instance=None
) -> dg.ExecuteInProcessResult:
    from pipeline.defs.assets.monitoring import grades_predict_better_than_chance
    from pipeline.defs.build import build_assets

    settings = load_settings(config)
    # the freshness checks judge the schedule against the clock, not the data: their sensor runs them
    assets = [*build_assets(settings), grades_predict_better_than_chance]
    as_of = settings.resolved_as_of_date()
    return dg.materialize(
        assets,
        selection=selection,
        partition_key=as_of.isoformat(),  # every asset is partitioned by as-of date (pipeline/defs/partitions.py)
        resources={
            "settings": CrmgradeSettings(config_file=str(config)),
            "warehouse": DuckDBWarehouse(path=str(warehouse)),
            "dbt": dbt_resource(),
        },
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=raise_on_error,
    )


def stricter_a_spec(path: Path) -> Path:
    """The repository's grading.yml with one change, written to `path`: A needs a weighted score of 4.5 instead of
    4.0. Exactly the customers it graded A below 4.5 become B (B's minimum is lower)."""
    spec = yaml.safe_load((REPO / "grading.yml").read_text(encoding="utf-8"))
    assert spec["grades"][0]["grade"] == "A" and spec["grades"][1]["min_score"] < 4.0
    spec["grades"][0]["min_score"] = 4.5
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


def query(warehouse: Path, sql: str):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def warehouse_copy(warehouse: Path, tmp_path: Path) -> Path:
    """A copy of the run's warehouse, to rebuild models on without touching what later tests read."""
    copy = tmp_path / "w.duckdb"
    shutil.copy(warehouse, copy)
    return copy


def dbt_on(copy: Path, tmp_path: Path, *commands: list[str]) -> None:
    """Run dbt commands against `copy` (the profile reads CRMGRADE_WAREHOUSE)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CRMGRADE_WAREHOUSE", str(copy))
    mp.delenv("CRMGRADE_RUN_ID", raising=False)  # set by the Dagster runs of this process
    try:
        for command in commands:
            dbt_resource().cli(command, target_path=tmp_path / "target").wait()
    finally:
        mp.undo()


@dataclass(frozen=True)
class RecordedRun:
    """A finished run of every asset, as another test process may have made it: its folder (config, warehouse,
    reports, serving copy, privacy) is never changed after the run, tests work on copies of it (`copy_to`); its
    Dagster events are kept as Dagster serializes them (`record`, `from_record`)."""

    folder: Path
    sources: Path
    run_id: str
    tags: dict[str, str]
    checks: list[dg.AssetCheckEvaluation]
    materialized: dict[str, list[dg.AssetMaterialization]]  # per step

    @staticmethod
    def record(result: dg.ExecuteInProcessResult) -> dict:
        materialized: dict[str, list] = {}
        for event in result.get_asset_materialization_events():
            materialized.setdefault(event.step_key, []).append(event.step_materialization_data.materialization)
        return {
            "run_id": result.run_id,
            "tags": dict(result.dagster_run.tags),
            "checks": dg.serialize_value(result.get_asset_check_evaluations()),
            "materialized": {step: dg.serialize_value(m) for step, m in materialized.items()},
        }

    @classmethod
    def from_record(cls, folder: Path, record: dict) -> "RecordedRun":
        materialized = {step: dg.deserialize_value(m) for step, m in record["materialized"].items()}
        checks = dg.deserialize_value(record["checks"])
        return cls(folder, folder / "sources", record["run_id"], record["tags"], checks, materialized)

    @property
    def warehouse(self) -> Path:
        """The run's warehouse file (write_run_config names it), to read, never to write."""
        return self.folder / "w.duckdb"

    def check_evaluations(self) -> list[dg.AssetCheckEvaluation]:
        return self.checks

    def materializations(self, step_key: str) -> list[dg.AssetMaterialization]:
        return self.materialized.get(step_key, [])

    def copy_to(self, folder: Path) -> tuple[Path, Path]:
        """The run's warehouse, reports, outbox, serving copy and privacy folder copied into `folder`, with a config
        pointing there: (config, warehouse)."""
        config, warehouse = write_run_config(folder, self.sources)
        shutil.copy(self.warehouse, warehouse)
        if judged_files_path(self.warehouse).exists():  # what the new-files sensor reads beside the warehouse
            shutil.copy(judged_files_path(self.warehouse), judged_files_path(warehouse))
        for name in ("reports", "outbox", "serving", "privacy"):
            if (self.folder / name).exists():
                shutil.copytree(self.folder / name, folder / name, symlinks=True)  # serving links are relative
        return config, warehouse
