"""The dbt project, in its own module so its manifest can be prepared before the assets are imported."""

import json
import os
import shutil
import sys
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

from dagster_dbt import DbtCliInvocation, DbtCliResource, DbtProject
from packaging import version

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"

# The dbt installed beside this Python, so that runs work without an activated virtual environment.
_venv_dbt = Path(sys.executable).parent / "dbt"
DBT_EXECUTABLE = str(_venv_dbt) if _venv_dbt.exists() else (shutil.which("dbt") or "dbt")

# dbt writes its manifest, partial-parse state and each step's artifacts under the target folder. Processes that
# parse with other vars at the same time (parallel test workers) each need their own: dbt's own DBT_TARGET_PATH,
# which dagster-dbt also reads to find the partial-parse state each step starts from (a step without it parses
# the whole project again, ~10 s).
dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target_path=os.getenv("DBT_TARGET_PATH", "target"),
)


class CrmgradeDbtCliResource(DbtCliResource):
    """DbtCliResource that knows the dbt version without running `dbt --version`.

    dagster-dbt (0.29) runs `dbt --version`, a 5-6 s subprocess here, once per resource instance, and Dagster
    makes a new instance for every step: with the dbt assets split into four steps around the Python assets
    that cost ~25 s a run. When the executable is the dbt installed beside this Python, its version is the
    installed dbt-core package's.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable) == _venv_dbt:
            return version.parse(installed_version("dbt-core"))
        return DbtCliResource._cli_version.func(self)


def dbt_resource() -> DbtCliResource:
    return CrmgradeDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


def prepare_manifest(dbt_vars: dict[str, str] | None = None) -> Path:
    """Parse the dbt project (writes target/manifest.json) and return the manifest path.

    Pass the vars the run will use: every dbt step of a run starts from this parse's partial_parse.msgpack,
    and dbt parses the whole project again (~10 s a step) when the vars differ from it.
    """
    args = ["--quiet", "parse", *(["--vars", json.dumps(dbt_vars)] if dbt_vars else [])]
    dbt_resource().cli(args, target_path=dbt_project.target_path).wait()
    return dbt_project.manifest_path


def remove_target_folder(invocation: DbtCliInvocation) -> None:
    """dagster-dbt gives every dbt call its own target folder (~27 MB: manifest, parse state, compiled SQL, logs)
    and never removes it: four a night, they would fill the disk. Once the call succeeded only its
    run_results.json stays (where each node's time went: bench/pipeline.py reads it); a failed call keeps all."""
    folder = invocation.target_path
    if folder.parent.resolve() != (DBT_PROJECT_DIR / dbt_project.target_path).resolve():
        return  # not a folder dagster-dbt made under the project's target
    for path in folder.iterdir():
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.name != "run_results.json":
            path.unlink(missing_ok=True)


# `dagster dev` sets DAGSTER_IS_DEV_CLI: parse on load so edits to the models show up. Not through
# DbtProject.prepare_if_dev(), which looks for `dbt` on PATH and fails when the venv is not activated
# (`make dev`). `crmgrade run` and the tests call prepare_manifest() themselves.
if os.getenv("DAGSTER_IS_DEV_CLI"):
    prepare_manifest()
