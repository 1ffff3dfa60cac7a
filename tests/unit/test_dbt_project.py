"""The dbt project's YAML: tests are declared where dbt reads them."""

import json
from pathlib import Path

import yaml

from pipeline.dbt_project import DBT_PROJECT_DIR


def test_unit_tests_are_top_level_so_dbt_runs_them(dbt_manifest: Path):
    # dbt ignores a `unit_tests:` key nested under a model without a word: such a test can never fail.
    nested = []
    for file in (DBT_PROJECT_DIR / "models").rglob("*.yml"):
        for model in (yaml.safe_load(file.read_text(encoding="utf-8")) or {}).get("models", []):
            if "unit_tests" in model:
                nested.append(f"{file.name}: {model['name']}")
    assert not nested, nested
    manifest = json.loads(dbt_manifest.read_text(encoding="utf-8"))
    tested = {u["model"] for u in manifest["unit_tests"].values()}
    assert {"int_orders", "int_customer__purchases", "int_customer__interactions", "dim_customer"} <= tested


def test_the_dbt_version_is_known_without_running_dbt(monkeypatch):
    # dagster-dbt runs `dbt --version` (seconds) for every step's resource; ours reads the installed package.
    from importlib.metadata import version

    import dagster_dbt.core.resource

    from pipeline.dbt_project import dbt_resource

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"dbt was run: {args}")

    monkeypatch.setattr(dagster_dbt.core.resource, "check_output", no_subprocess)
    assert str(dbt_resource()._cli_version) == version("dbt-core")


def _step_folder(root: Path) -> Path:
    folder = root / "crmgrade_dbt_assets-0123abc-456def"
    (folder / "compiled" / "crmgrade").mkdir(parents=True)
    for name in ("manifest.json", "partial_parse.msgpack", "dbt.log", "run_results.json"):
        (folder / name).write_text("{}", encoding="utf-8")
    return folder


def test_a_succeeded_dbt_steps_target_folder_keeps_only_its_run_results(monkeypatch, tmp_path):
    from types import SimpleNamespace

    import pipeline.dbt_project as project

    monkeypatch.setattr(project, "DBT_PROJECT_DIR", tmp_path)
    folder = _step_folder(tmp_path / project.dbt_project.target_path)
    project.remove_target_folder(SimpleNamespace(target_path=folder))
    assert [p.name for p in folder.iterdir()] == ["run_results.json"]
    # a folder elsewhere (a target path of the user's own) is left alone
    elsewhere = _step_folder(tmp_path / "mine")
    project.remove_target_folder(SimpleNamespace(target_path=elsewhere))
    assert len(list(elsewhere.iterdir())) == 5
