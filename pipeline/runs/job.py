"""One run of the whole job in this process (`crmgrade run`, `crmgrade backfill`, the nightly simulation, the
benchmark): the settings read once, checked before any work, the definitions built from them, the job executed
for one as-of date. Returns what happened; the caller says it (pipeline/cli prints it)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipeline.config import ConfigError, Settings, export_environment
from pipeline.contracts import ContractError, load_contracts
from pipeline.grading.rules import RulesError, load_rules
from pipeline.grading.spec import GradingError, load_grading_spec
from pipeline.run_lock import WarehouseBusy, exclusive_run
from pipeline.runs.erase import finish_interrupted
from pipeline.runs.inputs import inputs_digest, record_inputs, unchanged_since
from pipeline.runs.summary import SUMMARY_FILE


@dataclass(frozen=True)
class RunOutcome:
    succeeded: bool
    error: str | None = None  # why it did not run or failed, in one line
    run_id: str | None = None
    seconds: float = 0.0
    failed_steps: list[tuple[str, str]] = field(default_factory=list)  # (step, error message)
    gate_messages: list[str] = field(default_factory=list)  # sources over the quarantine gate (quality/gate.py)
    stopped_files: list[tuple[str, str, str, str]] = field(default_factory=list)  # (source, file, status, message)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    timings_file: Path | None = None
    summary: str | None = None  # the end-of-run summary (pipeline/runs/summary.py) and where it was written
    summary_file: Path | None = None
    skipped: bool = False  # nothing changed since run `run_id` (pipeline/runs/inputs.py): nothing was run


def _prepare(settings: Settings, as_of: date | None, progress: Callable[[str], None]) -> Settings:
    """The run's settings, with everything they name checked before any work (a broken contract or spec stops
    here), and the demo data generated when the config asks for it."""
    if as_of is not None:
        settings = settings.on(as_of)
    if settings.generates_demo_data():
        from pipeline.demo.generator import DemoSpec, generate

        progress(
            f"No source data in {settings.sources.root}: generating the demo set "
            f"({settings.demo.customers:,} customers, seed {settings.demo.seed})."
        )
        generate(
            settings.sources.root,
            DemoSpec(customers=settings.demo.customers, seed=settings.demo.seed, orders=settings.demo.orders),
        )
    from pipeline.ingest.source_files import unmatched_globs

    for warning in unmatched_globs(settings.sources.root, load_contracts(settings.sources.contracts)):
        progress(f"warning: {warning}")
    load_grading_spec(settings.grading)
    load_rules(settings.rules)  # the conditions are type-checked against the fact table when it exists
    return settings


def run_job(
    config_file: Path | str | None,
    as_of: date | None = None,
    progress: Callable[[str], None] = lambda _: None,
    force: bool = False,
) -> RunOutcome:
    """Materialize every asset for a config as of `as_of` (default: the config's as-of date), in this process;
    unless nothing it reads changed since the last successful run (and not `force`). One run at a time per
    warehouse: a second one returns at once, naming the first (pipeline/run_lock.py)."""
    try:
        settings = export_environment(config_file)  # what the Dagster resources and the dbt profile read
        with exclusive_run(settings.warehouse):
            _migrate(settings, progress)
            if problem := finish_interrupted(settings, progress):
                return RunOutcome(False, problem)
            return _run(_prepare(settings, as_of, progress), progress, force)
    except (ConfigError, ContractError, GradingError, RulesError, WarehouseBusy) as exc:
        return RunOutcome(False, str(exc))


def _migrate(settings: Settings, progress: Callable[[str], None]) -> None:
    """A warehouse of an older layout brought to today's before anything reads it, said on the console
    (pipeline/warehouse_migrations.py). A new warehouse is created in today's layout."""
    if settings.warehouse.exists():
        settings.connect_warehouse(said=progress).close()


def _run(settings: Settings, progress: Callable[[str], None], force: bool) -> RunOutcome:
    digest = inputs_digest(settings)
    if not force and (previous := unchanged_since(settings, digest)):
        summary_file = settings.reports_dir / SUMMARY_FILE
        return RunOutcome(
            True,
            run_id=previous,
            skipped=True,
            summary_file=summary_file,
            summary=summary_file.read_text(encoding="utf-8") if summary_file.exists() else None,
        )

    import dagster as dg
    from dagster_dbt.errors import DagsterDbtCliRuntimeError

    from pipeline.defs.automation.jobs import JOB_NAME
    from pipeline.defs.build import build_definitions
    from pipeline.defs.dbt.project import prepare_manifest
    from pipeline.defs.partitions import as_of_partitions, partition_key
    from pipeline.defs.progress import RUN_CONFIG as PROGRESS_ONLY
    from pipeline.defs.progress import quiet_console
    from pipeline.defs.resources import settings_of_this_run
    from pipeline.defs.step_timings import dbt_node_timings, stage_seconds, step_timings, write_timings
    from pipeline.runs.summary import stopped_files, write_failure_summary, write_summary

    t0 = time.perf_counter()
    progress("Parsing the dbt project ...")
    try:
        prepare_manifest(settings.dbt_vars())
    except DagsterDbtCliRuntimeError as exc:
        return RunOutcome(False, f"the dbt project does not parse: {exc}")
    as_of_date = settings.resolved_as_of_date()
    partitions = as_of_partitions(settings)
    if not partitions.has_partition_key(partition_key(as_of_date)):
        first, last = partitions.get_first_partition_key(), partitions.get_last_partition_key()
        return RunOutcome(
            False,
            f"as-of date {as_of_date} is not one of the job's daily partitions ({first} to {last}); "
            "operations.partitions_start in crmgrade.yml sets the first",
        )
    progress(f"Running every asset into {settings.warehouse}, as of {as_of_date} ...")
    instance = dg.DagsterInstance.get() if _has_dagster_home() else dg.DagsterInstance.ephemeral()
    console_log = settings.reports_dir / "run_console.log"
    progress(f"  (dbt's output and Dagster's events: {console_log}, the Dagster UI)")
    with quiet_console(console_log), settings_of_this_run(settings):
        definitions = build_definitions(settings)
        result = definitions.get_job_def(JOB_NAME).execute_in_process(
            instance=instance,
            partition_key=partition_key(as_of_date),
            raise_on_error=False,
            run_config=PROGRESS_ONLY,  # a line per step on the console, not Dagster's line per event
        )
    steps = [(e.step_key, step_error(e.step_failure_data.error)) for e in result.all_events if e.is_step_failure]
    timings = step_timings(instance, result.run_id)
    timings_file = write_timings(
        settings.reports_dir / "run_timings.json",
        result.run_id,
        time.perf_counter() - t0,
        timings,
        dbt_node_timings(instance, result.run_id),
        failed_steps=steps,
    )
    ran = {"run_id": result.run_id, "stage_seconds": stage_seconds(timings), "timings_file": timings_file}
    if not result.success:
        where = "; see dq.reconciliation and dq.quarantine" if any(s.startswith("raw__") for s, _ in steps) else ""
        gates = gate_messages(settings, result.run_id)
        stopped = stopped_files(settings.warehouse, result.run_id)
        text, path = write_failure_summary(settings.reports_dir, result.run_id, gates, steps, stopped)
        return RunOutcome(
            False,
            f"run {result.run_id} failed in {len(steps)} step(s){where}; summary: {path}",
            seconds=time.perf_counter() - t0,
            failed_steps=steps,
            gate_messages=gates,
            stopped_files=stopped,
            summary=text,
            summary_file=path,
            **ran,
        )
    text, path = write_summary(settings.warehouse, settings.reports_dir, gone=files_gone(settings))
    record_inputs(settings, result.run_id, digest)
    return RunOutcome(True, seconds=time.perf_counter() - t0, summary=text, summary_file=path, **ran)


def step_error(err) -> str:
    """What a failed step's error says: the exception raised inside the asset (type and message), not Dagster's
    wrapper around it ('Error occurred while executing op ...'), which names no cause."""
    if err is None:
        return "no error recorded"
    wrapper = " ".join(err.message.split())  # one line: the summary and the console list it after the step
    # down to the innermost cause, unless an error already says its cause and more (identity's MatchingError names
    # the stage and the setting to change around Splink's message)
    while err.cause is not None and _said(err.cause) not in _said(err):
        err = err.cause
    message = " ".join(err.message.split()) or wrapper
    head, _, rest = message.partition(": ")
    if re.fullmatch(r"[\w.]+\.(\w+)", head):  # 'dagster._core.errors.XError: ...' is said 'XError: ...'
        return f"{head.rsplit('.', 1)[1]}: {rest}"
    if message == wrapper or head == err.cls_name:
        return message
    return f"{err.cls_name or 'Error'}: {message}"


def _said(err) -> str:
    """An error's message on one line, without its leading 'module.Type: '."""
    message = " ".join(err.message.split())
    head, _, rest = message.partition(": ")
    return rest if re.fullmatch(r"[\w.]+", head) else message


def gate_messages(settings: Settings, run_id: str) -> list[str]:
    """The sources over the quarantine gate in a run (pipeline/quality/gate.py), said as the ingest check says."""
    import duckdb

    from pipeline.defs.assets.ingest import rule_descriptions
    from pipeline.quality import gate

    limits = gate.source_limits(load_contracts(settings.sources.contracts), settings.quality.max_quarantine_share)
    try:
        con = settings.connect_warehouse(read_only=True)
    except duckdb.Error:
        return []
    try:
        found = gate.breaches(con, run_id, limits)
    except duckdb.CatalogException:
        return []
    finally:
        con.close()
    return [b.message(rule_descriptions(b.entity)) for b in found]


def files_gone(settings: Settings) -> list:
    """The loaded files no longer in the source folder (pipeline/ingest/withdraw.py), for the summary."""
    from pipeline.ingest.withdraw import gone_files

    con = settings.connect_warehouse(read_only=True)
    try:
        return gone_files(con, load_contracts(settings.sources.contracts), settings.sources.root)
    finally:
        con.close()


def _has_dagster_home() -> bool:
    """Use the persistent instance (runs visible in `dagster dev`) when DAGSTER_HOME is set."""
    home = os.environ.get("DAGSTER_HOME")
    if home:
        Path(home).mkdir(parents=True, exist_ok=True)
    return bool(home)
