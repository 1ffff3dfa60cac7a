"""A run when source files appear or change: crmgrade.yml operations.new_files_sensor.

The sensor lists the files every source contract matches under sources.root and fingerprints them (path, size,
modification time). It never opens the warehouse, so it cannot collide with a run holding DuckDB's lock. A
run starts when the fingerprint differs from the last one a run was requested for and no file changed in the
last settle_seconds (a file still being copied waits for the next tick). Ingest is idempotent, so a file
seen again adds nothing.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from pipeline.config import Settings
from pipeline.contracts import load_contracts
from pipeline.defs.automation.jobs import JOB_NAME, active_run_ids
from pipeline.defs.partitions import partition_key
from pipeline.defs.resources import CrmgradeSettings
from pipeline.ingest.source_files import list_source_files


@dataclass(frozen=True)
class SourceScan:
    digest: str
    files: int
    settling: list[Path]


def scan_source_files(settings: Settings, now: float, settle_seconds: int) -> SourceScan:
    lines, settling = [], []
    root = settings.sources.root
    for contract in load_contracts(settings.sources.contracts):
        for file in list_source_files(root, contract):
            stat = file.stat()
            lines.append(f"{contract.source}\t{file.relative_to(root)}\t{stat.st_size}\t{stat.st_mtime_ns}")
            if now - stat.st_mtime < settle_seconds:
                settling.append(file)
    digest = hashlib.sha256("\n".join(sorted(lines)).encode("utf-8")).hexdigest()
    return SourceScan(digest, len(lines), settling)


def new_files_sensor(settings: Settings) -> dg.SensorDefinition:
    cfg = settings.operations.new_files_sensor

    @dg.sensor(
        name="new_source_files",
        job_name=JOB_NAME,
        minimum_interval_seconds=cfg.minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING if cfg.enabled else dg.DefaultSensorStatus.STOPPED,
        description="Every asset when files matching a source contract appear or change under sources.root.",
    )
    def _new_source_files(context: dg.SensorEvaluationContext, settings: CrmgradeSettings):
        current = settings.load()
        scan = scan_source_files(current, time.time(), current.operations.new_files_sensor.settle_seconds)
        if scan.files == 0:
            return dg.SkipReason(f"no source files under {current.sources.root}")
        if scan.digest == context.cursor:
            return dg.SkipReason(f"no new or changed files ({scan.files} files)")
        if scan.settling:
            names = ", ".join(str(p.name) for p in scan.settling[:3])
            return dg.SkipReason(f"{len(scan.settling)} file(s) still being written ({names}); next tick")
        active = active_run_ids(context.instance)
        if active:
            return dg.SkipReason(f"run {active[0]} is still active; the warehouse has one writer")
        context.update_cursor(scan.digest)
        return dg.RunRequest(
            run_key=f"source-files-{scan.digest[:16]}",
            partition_key=partition_key(current.resolved_as_of_date()),
            tags={"crmgrade/trigger": "new_files", "crmgrade/source_files": str(scan.files)},
        )

    return _new_source_files
