"""An erasure as a journalled operation that finishes even when it is interrupted.

Under the run lock (no run writes meanwhile):
1. the person is found, reading only (erasure.plan_erasure);
2. the plan is written to privacy.dir/erasures/<erasure id>.json (the journal), the identifiers' hashes to the
   suppression list and a `started` line to the erasure log, each synced to disk: from here on a re-delivery of
   the person's rows is suppressed, whatever happens next;
3. every store is scrubbed: the files under reports_dir and outbox_dir, then the warehouse in one transaction
   (with its audit row), then the warehouse file rewritten so freed pages hold nothing, then the serving copy
   published again and its older versions removed;
4. the journal is closed: a `completed` line in the log, the journal file deleted.
Each step of 3 can run again and finds nothing left to do, so an erasure killed anywhere finishes on the next
`crmgrade erase` or `crmgrade run` (finish_open_erasures), from the journal alone. The journal holds the person's
identifiers while it is open: it is readable by its owner only and goes when the erasure is done.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipeline.contracts.model import SourceContract
from pipeline.privacy.erasure import (
    ErasurePlan,
    ErasureReport,
    ErasureRequest,
    audit_row,
    delete_rows,
    plan_erasure,
    scrub_files,
)
from pipeline.privacy.rewrite import rewrite_warehouse
from pipeline.privacy.suppression import add_suppressions
from pipeline.warehouse_tables import transaction

JOURNAL_DIR = "erasures"
LOG_FILE = "erasure_log.jsonl"


@dataclass
class ErasureTarget:
    """Where a person is erased from: the warehouse and the folders the job writes, and how to republish."""

    warehouse: Path
    connection_config: dict
    contracts: list[SourceContract]
    salt: str
    privacy_dir: Path
    reports_dir: Path
    outbox_dir: Path | None
    country: str = "CN"
    # publishes the serving copy again and removes its older versions; returns what it did, for the console
    republish: Callable[[], str | None] | None = None

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.warehouse), config=self.connection_config)


def erase(
    target: ErasureTarget, request: ErasureRequest, step: Callable[[str], None] = lambda _: None
) -> ErasureReport:
    """Erase the person the request names. The caller holds the warehouse's run lock (pipeline/run_lock.py)."""
    con = target.connect()
    try:
        plan = plan_erasure(
            con,
            request,
            salt=target.salt,
            privacy_dir=target.privacy_dir,
            contracts=target.contracts,
            country=target.country,
        )
    finally:
        con.close()
    _write_journal(target.privacy_dir, plan)
    return _carry_out(target, plan, step, resumed=False)


def open_erasures(privacy_dir: Path) -> list[ErasurePlan]:
    """The erasures begun and not finished, oldest first."""
    folder = privacy_dir / JOURNAL_DIR
    if not folder.is_dir():
        return []
    plans = [ErasurePlan.from_json(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")]
    return sorted(plans, key=lambda p: p.requested_at)


def finish_open_erasures(target: ErasureTarget, step: Callable[[str], None] = lambda _: None) -> list[ErasureReport]:
    """Finish every interrupted erasure from its journal (before `crmgrade erase` or `crmgrade run` goes on)."""
    reports = []
    for plan in open_erasures(target.privacy_dir):
        step(f"finishing erasure {plan.erasure_id} of {plan.requested_at[:19]} (interrupted)")
        reports.append(_carry_out(target, plan, step, resumed=True))
    return reports


def _carry_out(target: ErasureTarget, plan: ErasurePlan, step: Callable[[str], None], resumed: bool) -> ErasureReport:
    suppressed = add_suppressions(target.privacy_dir, target.salt, plan.identifiers, plan.erasure_id)
    _log(target.privacy_dir, plan, "resumed" if resumed else "started", identifiers_suppressed=suppressed)
    step("scrubbing the reports and the outbox")
    files = scrub_files(plan, target.reports_dir, target.outbox_dir)
    report = ErasureReport(
        plan.erasure_id, plan.customer_keys, len(plan.records), {}, files, suppressed, plan.already_erased_by
    )
    step("deleting from the warehouse")
    con = target.connect()
    try:
        with transaction(con):
            report.rows_removed = delete_rows(con, plan)
            audit_row(con, plan, report)
    finally:
        con.close()
    step("rewriting the warehouse file without the freed pages")
    rewrite_warehouse(target.warehouse, target.connection_config)
    if target.republish is not None:
        step("publishing the serving copy again")
        report.republished = target.republish()
    _log(
        target.privacy_dir,
        plan,
        "completed",
        rows_removed=report.rows_removed,
        files_scrubbed=len(files),
        identifiers_suppressed=suppressed,
    )
    (target.privacy_dir / JOURNAL_DIR / f"{plan.erasure_id}.json").unlink(missing_ok=True)
    return report


def _write_journal(privacy_dir: Path, plan: ErasurePlan) -> None:
    folder = privacy_dir / JOURNAL_DIR
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    final = folder / f"{plan.erasure_id}.json"
    partial = final.with_suffix(".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(plan.to_json())
        out.flush()
        os.fsync(out.fileno())
    partial.replace(final)


def _log(privacy_dir: Path, plan: ErasurePlan, event: str, **counts) -> None:
    """A line of privacy.dir/erasure_log.jsonl: who, when, why, with what kind of identifier, which keys; no
    personal data."""
    entry = {
        "erasure_id": plan.erasure_id,
        "event": event,
        "at": datetime.now(UTC).isoformat(),
        "requested_at": plan.requested_at,
        "requested_by": plan.requested_by,
        "reason": plan.reason,
        "requested_with": plan.requested_with,
        "customer_keys": plan.customer_keys,
        "records_found": len(plan.records),
        "already_erased_by": plan.already_erased_by,
        **counts,
    }
    privacy_dir.mkdir(parents=True, exist_ok=True)
    with open(privacy_dir / LOG_FILE, "a", encoding="utf-8") as log:
        log.write(json.dumps(entry, ensure_ascii=False) + "\n")
        log.flush()
        os.fsync(log.fileno())
