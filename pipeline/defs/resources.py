"""Dagster resources, configured from environment variables read at run time."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from pipeline.config import (
    CONFIG_ENV,
    MEMORY_LIMIT_ENV,
    TEMP_DIRECTORY_ENV,
    WAREHOUSE_ENV,
    Settings,
    load_settings,
)
from pipeline.defs.partitions import as_of_date
from pipeline.defs.retries import retry_if_transient
from pipeline.warehouse_migrations import migrate

# The settings `crmgrade run` read, for the run it executes in this process (pipeline/runs/job.py): the file is
# read once per run, so an edit during the run cannot give its steps two configurations.
_RUN_SETTINGS: ContextVar[Settings | None] = ContextVar("crmgrade_run_settings", default=None)


@contextmanager
def settings_of_this_run(settings: Settings) -> Iterator[None]:
    token = _RUN_SETTINGS.set(settings)
    try:
        yield
    finally:
        _RUN_SETTINGS.reset(token)


WORKER_PID_TAG = "crmgrade/worker_pid"
WORKER_HOST_TAG = "crmgrade/worker_host"


def tag_run_worker(context: dg.InitResourceContext) -> None:
    """Tag the run with the process executing it (the job runs in one process: in_process_executor), so that a
    run whose process was killed can be told from one still going (pipeline/defs/automation/jobs.py)."""
    run, instance = context.dagster_run, context.instance
    if run is None or instance is None or WORKER_PID_TAG in run.tags:
        return
    instance.add_run_tags(run.run_id, {WORKER_PID_TAG: str(os.getpid()), WORKER_HOST_TAG: socket.gethostname()})


class CrmgradeSettings(dg.ConfigurableResource):
    """The run configuration file (crmgrade.yml), read and validated once per run (or sensor tick)."""

    config_file: str
    _settings: Settings | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # read once per run: the settings `crmgrade run` read already, else the file (a run from the UI)
        pinned = _RUN_SETTINGS.get()
        if pinned is not None and pinned.file == Path(self.config_file).resolve():
            self._settings = pinned
        else:
            self._settings = load_settings(self.config_file)
        tag_run_worker(context)

    def load(self) -> Settings:
        if self._settings is None:  # used outside a run (a test, a direct call)
            self._settings = load_settings(self.config_file)
        return self._settings.model_copy()  # a copy: what one step sets on it is not seen by the next

    def load_for(self, context: dg.AssetExecutionContext) -> Settings:
        """The settings of this run: its as-of date is the run's partition (pipeline/defs/partitions.py)."""
        settings = self.load()
        return settings.on(as_of_date(context.partition_key)) if context.has_partition_key else settings


class DuckDBWarehouse(dg.ConfigurableResource):
    """The warehouse file. Connections are short-lived: DuckDB lets one process hold the file at a time."""

    path: str
    # crmgrade.yml duckdb: beyond memory_limit DuckDB spills to temp_directory; empty: DuckDB's defaults
    memory_limit: str = ""
    temp_directory: str = ""

    _migrated: bool = PrivateAttr(default=False)

    @contextmanager
    def connect(self):
        settings = {"memory_limit": self.memory_limit, "temp_directory": self.temp_directory}
        limits = {name: value for name, value in settings.items() if value}
        try:
            con = duckdb.connect(self.path, config=limits)
        except duckdb.IOException as exc:
            retry_if_transient(exc)  # another process holds the file: this step runs again in a minute
            raise
        try:
            if not self._migrated:  # a warehouse of an older layout, brought to today's before a step uses it
                migrate(con)
                self._migrated = True
            yield con
        finally:
            con.close()


def default_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "settings": CrmgradeSettings(config_file=dg.EnvVar(CONFIG_ENV)),
        "warehouse": DuckDBWarehouse(
            path=dg.EnvVar(WAREHOUSE_ENV),
            memory_limit=dg.EnvVar(MEMORY_LIMIT_ENV),
            temp_directory=dg.EnvVar(TEMP_DIRECTORY_ENV),
        ),
    }
