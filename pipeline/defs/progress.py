"""The console of `crmgrade run`: one line per finished step (its stage, step and time) and every warning or error,
instead of Dagster's debug line per event (~2,000 a run) and dbt's per-node output.

A Dagster logger (pipeline/defs/build.py registers it beside the console logger); the runner selects it alone. Runs
started from the UI, the schedule or the sensor keep Dagster's console logger. Every event is still in the run's
record (the UI, run_timings.json).
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from pipeline.defs.step_timings import stage_of

LOGGER = "crmgrade_progress"
# Where the lines go: the runner points these at its console before it sends the rest of stdout (dbt's line per
# node, which dagster-dbt writes there) to the run's console log.
console = {"out": sys.stdout, "err": sys.stderr}
_ENDED = {"STEP_SUCCESS": "done", "STEP_FAILURE": "FAILED"}
_SKIPPED = re.compile(r"Dependencies for step \S+ (failed|were not executed)")


class _StepLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.started: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None)
        event = meta.get("dagster_event") if isinstance(meta, dict) else None
        kind = event.event_type_value if event is not None else None
        if kind == "STEP_START":
            self.started[event.step_key] = record.created
        elif kind in _ENDED:
            seconds = record.created - self.started.get(event.step_key, record.created)
            line = f"  [{stage_of(event.step_key)}] {event.step_key} {_ENDED[kind]} in {seconds:.1f}s"
            print(line, file=console["out"] if kind == "STEP_SUCCESS" else console["err"], flush=True)
        elif record.levelno >= logging.WARNING:
            message = meta.get("orig_message", record.getMessage()) if isinstance(meta, dict) else record.getMessage()
            if _SKIPPED.match(message):
                return  # a line per step after a failed one would bury its cause; the run's outcome counts them
            print(f"  {record.levelname.lower()}: {message}", file=console["err"], flush=True)


@dg.logger(description="One line per finished step and every warning: the console of `crmgrade run`.")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    log = logging.getLogger(f"crmgrade.progress.{init_context.run_id}")
    log.setLevel(logging.DEBUG)
    log.handlers = [_StepLines()]
    log.propagate = False
    return log


RUN_CONFIG = {"loggers": {LOGGER: {}}}


@contextmanager
def quiet_console(log_file: Path) -> Iterator[None]:
    """Step lines and warnings on this console; everything else written to stdout (dbt's output) into `log_file`;
    Dagster's own deprecation and beta warnings about this code not shown."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    saved = dict(console)
    console.update(out=sys.stdout, err=sys.stderr)
    with (
        log_file.open("w", encoding="utf-8") as sink,
        contextlib.redirect_stdout(sink),
        warnings.catch_warnings(),
    ):
        for category in (dg.SupersessionWarning, dg.BetaWarning, dg.PreviewWarning):
            warnings.simplefilter("ignore", category)
        warnings.filterwarnings("ignore", message="Found asset job named", category=UserWarning)
        warnings.filterwarnings("ignore", message="Asset job .* varying BackfillPolicies", category=UserWarning)
        try:
            yield
        finally:
            console.update(saved)
