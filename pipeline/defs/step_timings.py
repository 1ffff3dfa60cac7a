"""Where a run's time went: each step's start and duration from Dagster's run events, grouped by stage.

`crmgrade run` writes them to `<reports_dir>/run_timings.json` (with each dbt node's time, from the dbt
events dagster-dbt records) and prints the slowest stages; bench/pipeline.py reads that file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import dagster as dg

# A step's stage, by the start of its key: the assets' groups as the folder tree names them. The dbt assets run
# in several steps between the Python assets (crmgrade_dbt_assets, _2, ...): together they are the dbt stage.
STAGES = (
    ("raw__", "ingest"),
    ("dq_", "validate"),
    ("identity", "identity"),
    ("crmgrade_dbt_assets", "dbt"),
    ("grading_spec", "grading"),
    ("clv_", "grading"),
    ("tags__customer_tags", "grading"),
    ("activation__", "grading"),  # acting on the grades: rules.yml actions
    ("backtest", "monitoring"),
    ("monitoring__", "monitoring"),
    ("evaluation__", "monitoring"),  # the spec backtest and the shadow comparison
    ("serving__", "serving"),
    ("privacy__", "serving"),
)


@dataclass(frozen=True)
class StepTiming:
    step: str
    stage: str
    started_after_seconds: float  # since the run started
    started_at: float  # epoch seconds, to line the step up with outside measurements (bench/pipeline.py)
    seconds: float
    succeeded: bool


def stage_of(step_key: str) -> str:
    return next((stage for prefix, stage in STAGES if step_key.startswith(prefix)), "other")


def step_timings(instance: dg.DagsterInstance, run_id: str) -> list[StepTiming]:
    ended = {dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    events = instance.all_logs(run_id, of_type={dg.DagsterEventType.RUN_START, dg.DagsterEventType.STEP_START, *ended})
    run_start = next((e.timestamp for e in events if e.dagster_event_type == dg.DagsterEventType.RUN_START), None)
    starts = {e.step_key: e.timestamp for e in events if e.dagster_event_type == dg.DagsterEventType.STEP_START}
    origin = run_start if run_start is not None else min(starts.values(), default=0.0)
    return [
        StepTiming(
            step=e.step_key,
            stage=stage_of(e.step_key),
            started_after_seconds=round(starts.get(e.step_key, e.timestamp) - origin, 3),
            started_at=starts.get(e.step_key, e.timestamp),
            seconds=round(e.timestamp - starts.get(e.step_key, e.timestamp), 3),
            succeeded=e.dagster_event_type == dg.DagsterEventType.STEP_SUCCESS,
        )
        for e in events
        if e.dagster_event_type in ended
    ]


@dataclass(frozen=True)
class DbtNodeTiming:
    step: str
    unique_id: str  # model.crmgrade.fct_customer, test.crmgrade.<name>.<hash>, seed..., snapshot...
    seconds: float
    status: str


def dbt_node_timings(instance: dg.DagsterInstance, run_id: str) -> list[DbtNodeTiming]:
    """Every dbt node the run built or tested, with its time: dagster-dbt puts the node's unique_id and
    `Execution Duration` on each materialization and check evaluation it reports."""
    kinds = {dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.ASSET_CHECK_EVALUATION}
    out = []
    for event in instance.all_logs(run_id, of_type=kinds):
        data = event.dagster_event.event_specific_data
        metadata = data.materialization.metadata if hasattr(data, "materialization") else data.metadata
        unique_id, seconds = metadata.get("unique_id"), metadata.get("Execution Duration")
        if unique_id is None or seconds is None:
            continue  # a Python asset's
        status = metadata.get("status")
        out.append(
            DbtNodeTiming(
                step=event.step_key,
                unique_id=str(unique_id.value),
                seconds=round(float(seconds.value), 3),
                status=str(status.value) if status is not None else "",
            )
        )
    return out


def stage_seconds(timings: list[StepTiming]) -> dict[str, float]:
    """Seconds per stage, the sum of its steps (steps run one after another in-process)."""
    out: dict[str, float] = {}
    for t in timings:
        out[t.stage] = round(out.get(t.stage, 0.0) + t.seconds, 3)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def write_timings(
    path: Path,
    run_id: str,
    wall_seconds: float,
    timings: list[StepTiming],
    dbt_nodes: list[DbtNodeTiming] = (),
    failed_steps: list[tuple[str, str]] = (),
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "run_id": run_id,
        "wall_seconds": round(wall_seconds, 3),
        "stage_seconds": stage_seconds(timings),
        "steps": [asdict(t) for t in timings],
        "dbt_nodes": [asdict(n) for n in dbt_nodes],
        "failed_steps": [{"step": step, "error": error} for step, error in failed_steps],
    }
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return path
