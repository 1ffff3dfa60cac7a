"""The dbt project, in its own module so its manifest can be prepared before the assets are imported."""

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

from dagster_dbt import DbtCliInvocation, DbtCliResource, DbtProject
from packaging import version

from pipeline.paths import DBT_PROJECT_DIR

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
    makes a new instance for every step: with the dbt assets split into steps around the Python assets
    that cost ~25 s a run. When the executable is the dbt installed beside this Python, its version is the
    installed dbt-core package's.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable) == _venv_dbt:
            return version.parse(installed_version("dbt-core"))
        return DbtCliResource._cli_version.func(self)


def dbt_resource() -> DbtCliResource:
    # no ANSI colour codes in the run's logs and console (dbt colours a terminal's output by default)
    return CrmgradeDbtCliResource(
        project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE, global_config_flags=["--no-use-colors"]
    )


# dbt unit tests test the SQL, not the night's data: they run once in the test suite (make test,
# tests/e2e/test_dbt_unit_tests.py), as dbt advises, not in every production build (20 nodes, ~5 s a run).
PRODUCTION_SELECTION = ("--exclude", "test_type:unit")
# dbt writes manifest.json twice and run_results.json per call (~2 s of each step); Dagster's events carry
# what the run needs (each node's time: pipeline/defs/step_timings.py), and the manifest is the parse's.
NO_ARTIFACTS = ("--no-write-json",)

# Set by the dbt asset for each step (its run, the code behind the models built per customer): dbt's partial
# parsing re-reads the files using them in that step, so they do not make the run's parse stale.
_PER_STEP_ENV = frozenset({"CRMGRADE_RUN_ID", "CRMGRADE_CODE_FINGERPRINTS"})
PARSE_INPUTS_FILE = "crmgrade_parse_inputs.sha256"


def parse_inputs(dbt_vars: dict | None) -> str:
    """A digest of everything `dbt parse` reads: the project's files (models, macros, seeds, tests, YAML, the
    profile), the vars, the dbt versions and the environment variables the project or dbt can read."""
    digest = hashlib.sha256()
    skip = {dbt_project.target_path.parts[0], "logs"} if dbt_project.target_path.parts else {"logs"}
    for path in sorted(DBT_PROJECT_DIR.rglob("*")):
        relative = path.relative_to(DBT_PROJECT_DIR)
        # hidden files are dbt's own (.user.yml, its anonymous user id), not the project's
        if relative.parts[0] in skip or relative.name.startswith(".") or not path.is_file():
            continue
        digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    environment = {
        k: v for k, v in os.environ.items() if k.startswith(("CRMGRADE_", "DBT_")) and k not in _PER_STEP_ENV
    }
    for part in (
        json.dumps(dbt_vars or {}, sort_keys=True),
        json.dumps(environment, sort_keys=True),
        installed_version("dbt-core"),
        installed_version("dbt-duckdb"),
    ):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def prepare_manifest(dbt_vars: dict[str, str] | None = None) -> Path:
    """Parse the dbt project (writes target/manifest.json) and return the manifest path.

    Pass the vars the run will use: every dbt step of a run starts from this parse's partial_parse.msgpack,
    and dbt parses the whole project again (~10 s a step) when the vars differ from it. A parse costs a dbt
    process (~5-10 s) even when nothing changed: it is skipped when the digest of its inputs (parse_inputs) is
    the last parse's and its manifest and parse state are as that parse wrote them.
    """
    target = DBT_PROJECT_DIR / dbt_project.target_path
    recorded = target / PARSE_INPUTS_FILE
    inputs = parse_inputs(dbt_vars)
    state = (target / "manifest.json", target / "partial_parse.msgpack")

    def written() -> str:  # the parse's own files, as it left them: a dbt command run by hand rewrites them
        return " ".join(f"{p.stat().st_mtime_ns}:{p.stat().st_size}" for p in state)

    fresh = all(p.exists() for p in state) and recorded.exists()
    if fresh and recorded.read_text(encoding="utf-8") == f"{inputs}\n{written()}":
        return dbt_project.manifest_path
    recorded.unlink(missing_ok=True)  # a parse that fails leaves no digest behind
    args = ["--quiet", "parse", *(["--vars", json.dumps(dbt_vars)] if dbt_vars else [])]
    dbt_resource().cli(args, target_path=dbt_project.target_path).wait()
    recorded.write_text(f"{inputs}\n{written()}", encoding="utf-8")
    return dbt_project.manifest_path


@contextmanager
def environment_of_dbt(values: Mapping[str, str]) -> Iterator[None]:
    """`values` in the environment while a dbt process is started, then as they were: dagster-dbt gives the
    process a copy of os.environ and takes no environment of its own, and nothing a step sets for its dbt
    process should be seen by the next step or by the rest of the Python process."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def build_variant(dbt: DbtCliResource, build_args: list[str], target_path: Path | None = None) -> None:
    """`dbt build` of a grading variant (the shadow spec, a regrade; pipeline/grading/variant.py dbt_build_args says
    what it builds), without the SQL unit tests as every production build. Raises DagsterDbtCliRuntimeError when
    dbt fails; its own target folder goes once it succeeded."""
    invocation = dbt.cli(
        [*build_args, *PRODUCTION_SELECTION], manifest=dbt_project.manifest_path, target_path=target_path
    ).wait()
    if target_path is None:
        remove_target_folder(invocation)


def remove_target_folder(invocation: DbtCliInvocation) -> None:
    """dagster-dbt gives every dbt call its own target folder (~27 MB: manifest, parse state, compiled SQL, logs)
    and never removes it: three a night, they would fill the disk. It goes once the call succeeded (the node
    times are in the run's events); a failed call keeps it, with dbt.log and the compiled SQL to look at."""
    folder = invocation.target_path
    if folder.parent.resolve() != (DBT_PROJECT_DIR / dbt_project.target_path).resolve():
        return  # not a folder dagster-dbt made under the project's target
    shutil.rmtree(folder, ignore_errors=True)


# `dagster dev` sets DAGSTER_IS_DEV_CLI: parse on load so edits to the models show up. Not through
# DbtProject.prepare_if_dev(), which looks for `dbt` on PATH and fails when the venv is not activated
# (`make dev`). `crmgrade run` and the tests call prepare_manifest() themselves.
if os.getenv("DAGSTER_IS_DEV_CLI"):
    prepare_manifest()
