"""A run when source files appear or change: crmgrade.yml operations.new_files_sensor.

The sensor lists the files every source contract matches under sources.root and fingerprints them (path, size,
modification time). It never opens the warehouse, so it cannot collide with a run holding DuckDB's lock. A
run starts when the fingerprint differs from the last one a run was requested for, some file is not among the
files ingest has already judged as it is now (<warehouse>.judged_files.json, whichever run judged it: `crmgrade
run`, the schedule, the UI), and no file changed in the last settle_seconds (a file still being copied waits
for the next tick). So a first `dagster dev` on a warehouse `make run` built starts nothing.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from pipeline.config import Settings
from pipeline.contracts import load_contracts
from pipeline.defs.automation.jobs import JOB_NAME, why_not_now
from pipeline.defs.partitions import partition_key
from pipeline.defs.resources import CrmgradeSettings
from pipeline.ingest.judged_files import Fingerprint, fingerprint, judged_files, key
from pipeline.ingest.source_files import list_source_files


@dataclass(frozen=True)
class SourceScan:
    digest: str
    files: int
    settling: list[Path]
    fingerprints: dict[str, Fingerprint]  # judged_files.key(source, entity, path) -> (size, mtime_ns)

    def not_judged(self, judged: dict[str, Fingerprint]) -> list[str]:
        """The files ingest has not judged as they are now (new, or changed since)."""
        return sorted(k for k, fp in self.fingerprints.items() if judged.get(k) != fp)


def scan_source_files(settings: Settings, now: float, settle_seconds: int) -> SourceScan:
    fingerprints, settling = {}, []
    root = settings.sources.root
    for contract in load_contracts(settings.sources.contracts):
        for file in list_source_files(root, contract):
            fp = fingerprint(file)
            fingerprints[key(contract.source, contract.entity, file.relative_to(root).as_posix())] = fp
            if now - fp[1] / 1e9 < settle_seconds:
                settling.append(file)
    lines = sorted(f"{k}\t{size}\t{mtime}" for k, (size, mtime) in fingerprints.items())
    digest = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
    return SourceScan(digest, len(lines), settling, fingerprints)


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
        waiting = scan.not_judged(judged_files(current.warehouse))
        if not waiting:
            context.update_cursor(scan.digest)
            return dg.SkipReason(f"all {scan.files} source files are ingested as they are now; nothing to run")
        if scan.settling:
            names = ", ".join(str(p.name) for p in scan.settling[:3])
            return dg.SkipReason(f"{len(scan.settling)} file(s) still being written ({names}); next tick")
        if busy := why_not_now(context.instance, current.warehouse):
            return dg.SkipReason(busy)
        context.update_cursor(scan.digest)
        return dg.RunRequest(
            run_key=f"source-files-{scan.digest[:16]}",
            partition_key=partition_key(current.resolved_as_of_date()),
            tags={
                "crmgrade/trigger": "new_files",
                "crmgrade/source_files": str(scan.files),
                "crmgrade/new_or_changed_files": str(len(waiting)),
            },
        )

    return _new_source_files
