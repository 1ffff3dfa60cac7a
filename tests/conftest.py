from __future__ import annotations

import os
from pathlib import Path

import pytest

# pytest-xdist workers run at the same time and parse dbt with different vars: each gets its own dbt target
# folder, set before pipeline.defs.dbt.project is imported (and inherited by the processes the tests start).
if worker := os.getenv("PYTEST_XDIST_WORKER"):
    os.environ["DBT_TARGET_PATH"] = f"target/pytest-{worker}"

from pipeline.demo.generator import DemoSpec, generate

REPO = Path(__file__).resolve().parent.parent

# pytest-xdist hands whole files to its two workers in collection order (--dist loadfile --no-loadscope-reorder,
# pyproject.toml), a next file as soon as a worker has two tests left. First the file that builds the shared first
# run (tests/e2e/conftest.py) and runs the CLI again; then every file that does not read that run, the long ones
# first, so the other worker has work while the run is built (it waited ~90 s for it before); then the files that
# read it, and last the one whose rebuilds run beside the CLI rerun.
SCHEDULE_FIRST, SCHEDULE_LAST = "test_pipeline.py", "test_pipeline_rebuilds.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reads_first_run = {item.path for item in items if "first_run" in item.fixturenames}

    def rank(item: pytest.Item) -> int:
        if item.path.name == SCHEDULE_FIRST:
            return 0
        if item.path.name == SCHEDULE_LAST:
            return 5
        slow = item.get_closest_marker("slow") is not None
        if item.path not in reads_first_run:
            return 1 if slow else 2
        return 3 if slow else 4

    items.sort(key=rank)  # stable: a file's tests keep their order


CONTRACTS = REPO / "data" / "contracts"


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory) -> Path:
    """A small demo set shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("demo") / "sources"
    generate(out, DemoSpec(customers=400, seed=7), progress=lambda _: None)
    return out


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """The dbt manifest must exist before pipeline.definitions is imported. Parsed with the vars the end-to-end
    runs use, so their dbt steps parse partially (as `crmgrade run` does)."""
    from pipeline.defs.dbt.project import prepare_manifest

    return prepare_manifest(dbt_test_vars())


def dbt_test_vars() -> dict:
    """The dbt vars of the end-to-end runs (crmgrade.yml defaults, as of DEMO_AS_OF)."""
    from pipeline.monitoring.config import MonitoringConfig

    monitoring = MonitoringConfig()
    return {
        "as_of_date": DEMO_AS_OF,
        "timezone": "Asia/Shanghai",
        "drift": monitoring.drift.model_dump(),
        "campaign_effect": monitoring.campaign_effect.model_dump(),
        "membership_effect": monitoring.membership_effect.model_dump(),
        "bi_unmasked": [],
    }


# The demo history ends on DemoSpec.end_date (2026-06-30): the tests grade as of the day after.
DEMO_AS_OF = "2026-07-01"


def write_run_config(folder: Path, sources: Path, as_of_date: str = DEMO_AS_OF) -> tuple[Path, Path]:
    """A crmgrade.yml in `folder` for `sources` with the repository's contracts; returns (config, warehouse)."""
    config, warehouse = folder / "crmgrade.yml", folder / "w.duckdb"
    config.write_text(
        f"warehouse: {warehouse}\nas_of_date: {as_of_date}\nsources:\n  root: {sources}\n"
        f"  contracts: {CONTRACTS}\nreports_dir: {folder / 'reports'}\n"
        f"serving: {{dir: {folder / 'serving'}}}\nprivacy: {{dir: {folder / 'privacy'}}}\n"
        f"outbox_dir: {folder / 'outbox'}\n",
        encoding="utf-8",
    )
    return config, warehouse


def bytes_holding(values: list[str], folders: list[Path]) -> list[str]:
    """`grep -a` of every file under `folders` (or of a file given) for each value, in UTF-8 and in UTF-16: a
    "path: value" per find."""
    found = []
    for folder in folders:
        for path in folder.rglob("*") if folder.is_dir() else [folder]:
            if path.is_file():
                data = path.read_bytes()
                found += [f"{path}: {v}" for v in values if v.encode() in data or v.encode("utf-16-le") in data]
    return found
