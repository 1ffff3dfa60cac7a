"""The dbt project's YAML: tests are declared where dbt reads them."""

import json
import os
from pathlib import Path

import pytest
import yaml

from pipeline.defs.dbt.project import DBT_PROJECT_DIR, environment_of_dbt


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

    from pipeline.defs.dbt.project import dbt_resource

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


def test_a_succeeded_dbt_steps_target_folder_is_removed(monkeypatch, tmp_path):
    from types import SimpleNamespace

    import pipeline.defs.dbt.project as project

    monkeypatch.setattr(project, "DBT_PROJECT_DIR", tmp_path)
    folder = _step_folder(tmp_path / project.dbt_project.target_path)
    project.remove_target_folder(SimpleNamespace(target_path=folder))
    assert not folder.exists() and folder.parent.exists()
    # a folder elsewhere (a target path of the user's own) is left alone
    elsewhere = _step_folder(tmp_path / "mine")
    project.remove_target_folder(SimpleNamespace(target_path=elsewhere))
    assert len(list(elsewhere.iterdir())) == 5


class _CountedParses:
    def __init__(self, monkeypatch, project):
        self.calls = 0
        monkeypatch.setattr(project, "dbt_resource", lambda: self)

    def cli(self, args, target_path):
        self.calls += 1
        target = project_target(target_path)
        (target / "manifest.json").write_text("{}", encoding="utf-8")
        (target / "partial_parse.msgpack").write_text("", encoding="utf-8")
        return self

    def wait(self):
        return self


def project_target(target_path: Path) -> Path:
    import pipeline.defs.dbt.project as project

    target = project.DBT_PROJECT_DIR / target_path
    target.mkdir(parents=True, exist_ok=True)
    return target


def test_the_project_is_parsed_again_only_when_what_dbt_parse_reads_changed(monkeypatch, tmp_path):
    import pipeline.defs.dbt.project as project

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.sql").write_text("select 1", encoding="utf-8")
    (tmp_path / "dbt_project.yml").write_text("name: x", encoding="utf-8")
    monkeypatch.setattr(project, "DBT_PROJECT_DIR", tmp_path)
    monkeypatch.delenv("CRMGRADE_LOG_LEVEL", raising=False)
    parses = _CountedParses(monkeypatch, project)
    vars_ = {"as_of_date": "2026-07-01"}

    project.prepare_manifest(vars_)
    project.prepare_manifest(vars_)
    assert parses.calls == 1  # nothing changed: the manifest and parse state of the first stand
    (tmp_path / ".user.yml").write_text("id: 1", encoding="utf-8")  # dbt's own file
    monkeypatch.setenv("CRMGRADE_RUN_ID", "abc")  # set per step; dbt re-reads what uses it
    project.prepare_manifest(vars_)
    assert parses.calls == 1

    changes = [
        lambda: (tmp_path / "models" / "m.sql").write_text("select 2", encoding="utf-8"),
        lambda: (tmp_path / "models" / "n.sql").write_text("select 3", encoding="utf-8"),
        lambda: vars_.update(as_of_date="2026-07-02"),
        lambda: monkeypatch.setenv("CRMGRADE_WAREHOUSE", str(tmp_path / "other.duckdb")),
        lambda: (tmp_path / project.dbt_project.target_path / "partial_parse.msgpack").unlink(),
        # a dbt command run by hand (other vars) writes the manifest again
        lambda: (tmp_path / project.dbt_project.target_path / "manifest.json").write_text("{ }", encoding="utf-8"),
    ]
    for expected, change in enumerate(changes, start=2):
        change()
        project.prepare_manifest(vars_)
        assert parses.calls == expected
    project.prepare_manifest(vars_)
    assert parses.calls == len(changes) + 1

    # a parse that fails leaves no digest: the next call parses again
    def failing(args, target_path):
        raise RuntimeError("does not parse")

    monkeypatch.setattr(parses, "cli", failing)
    (tmp_path / "models" / "m.sql").write_text("select broken", encoding="utf-8")
    with pytest.raises(RuntimeError):
        project.prepare_manifest(vars_)
    assert not (tmp_path / project.dbt_project.target_path / project.PARSE_INPUTS_FILE).exists()


def test_what_a_step_sets_for_its_dbt_process_is_gone_afterwards(monkeypatch):
    monkeypatch.setenv("CRMGRADE_RUN_ID", "the previous run")
    monkeypatch.delenv("CRMGRADE_CODE_FINGERPRINTS", raising=False)
    with pytest.raises(RuntimeError), environment_of_dbt({"CRMGRADE_RUN_ID": "r2", "CRMGRADE_CODE_FINGERPRINTS": "f"}):
        assert os.environ["CRMGRADE_RUN_ID"] == "r2"
        assert os.environ["CRMGRADE_CODE_FINGERPRINTS"] == "f"
        raise RuntimeError("dbt could not start")
    assert os.environ["CRMGRADE_RUN_ID"] == "the previous run"
    assert "CRMGRADE_CODE_FINGERPRINTS" not in os.environ


def test_the_interaction_channels_fct_customer_counts_are_the_ones_the_interactions_suite_accepts():
    # Two lists that must stay equal (issue 46): a channel the suite accepts but dbt does not count would vanish from
    # fct_customer's per-channel counts; one dbt counts but the suite refuses would always be zero.
    channels = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))["vars"][
        "interaction_channels"
    ]
    suite = json.loads((DBT_PROJECT_DIR.parent / "expectations" / "interactions.json").read_text(encoding="utf-8"))
    [accepted] = [
        e["kwargs"]["value_set"]
        for e in suite["expectations"]
        if e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"]["column"] == "interaction_type"
    ]
    assert sorted(channels) == sorted(accepted)


def test_the_bi_models_mask_exactly_the_columns_masking_py_lists():
    # serving/masking.py's PERSONAL_COLUMNS validates serving.unmasked_columns and names what publishing checks; the
    # bi models mask through the macro `personal`. The two lists must be one (issue 46).
    import re

    from pipeline.serving.masking import PERSONAL_COLUMNS

    masked = {}
    for model in (DBT_PROJECT_DIR / "models" / "bi").glob("*.sql"):
        for table, column, kind in re.findall(
            r"personal\(\s*'(\w+)'\s*,\s*'(\w+)'\s*,\s*'(\w+)'\s*\)", model.read_text(encoding="utf-8")
        ):
            masked[f"{table}.{column}"] = kind
    assert masked == PERSONAL_COLUMNS


def test_dbt_without_the_as_of_date_stops_instead_of_grading_today(dbt_manifest, tmp_path, monkeypatch):
    # Before: a bare `dbt build` graded "today" in its own way and appended that day to the grade history (issue
    # 49); "today" is now decided once, by the run (issue 46).
    from dagster_dbt.errors import DagsterDbtCliRuntimeError

    from pipeline.defs.dbt.project import dbt_resource

    monkeypatch.setenv("CRMGRADE_WAREHOUSE", str(tmp_path / "w.duckdb"))
    with pytest.raises(DagsterDbtCliRuntimeError) as failure:
        dbt_resource().cli(["compile", "--select", "int_grading__purchases"], target_path=tmp_path / "t").wait()
    assert "var as_of_date is not set" in str(failure.value) and "make dbt" in str(failure.value)
