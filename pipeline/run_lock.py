"""One `crmgrade run` at a time per warehouse: a second one stops at once and names the first.

DuckDB lets one process write a file, but a run opens and closes the warehouse many times (each Python step, each
dbt process), so two runs would interleave their writes step by step. The lock is an OS file lock beside the
warehouse (<warehouse>.run.lock): the kernel releases it when its process ends, however it ends (kill -9
included), so a crashed run never leaves the warehouse locked. Runs started from Dagster (schedule, sensor, UI)
are kept to one at a time by Dagster itself (the sensor and schedule skip while a run is in progress).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from filelock import FileLock, Timeout


class WarehouseBusy(RuntimeError):
    """Another run holds the warehouse; the message says which and since when."""


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".run.lock")


def _holder_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".run.json")


@contextmanager
def exclusive_run(warehouse: Path, what: str = "crmgrade run") -> Iterator[None]:
    """Hold the warehouse's run lock while the block runs; WarehouseBusy at once when another process holds it."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(warehouse)), is_singleton=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise WarehouseBusy(
            f"{warehouse} is being written by another run ({_holder(warehouse)}): one run at a time writes a "
            "warehouse. Wait for it to end, or stop it; its lock goes with its process."
        ) from None
    try:
        holder = {"pid": os.getpid(), "what": what, "since": datetime.now().isoformat(timespec="seconds")}
        _holder_path(warehouse).write_text(json.dumps(holder), encoding="utf-8")
        yield
    finally:
        _holder_path(warehouse).unlink(missing_ok=True)
        lock.release()


def other_holder(warehouse: Path) -> str | None:
    """Who holds the warehouse's run lock, when another process does (`crmgrade run`, `crmgrade erase`, `crmgrade
    source withdraw`); None when nobody does or this process itself. For the runs Dagster starts (schedule,
    sensor, UI), which do not take the lock: they skip, or stop, instead of writing beside an erasure."""
    if not lock_path(warehouse).exists():
        return None
    lock = FileLock(str(lock_path(warehouse)), is_singleton=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        try:
            if json.loads(_holder_path(warehouse).read_text(encoding="utf-8"))["pid"] == os.getpid():
                return None
        except (OSError, ValueError, KeyError):
            pass
        return _holder(warehouse)
    lock.release()
    return None


def _holder(warehouse: Path) -> str:
    try:
        holder = json.loads(_holder_path(warehouse).read_text(encoding="utf-8"))
        return f"{holder['what']}, process {holder['pid']}, since {holder['since']}"
    except (OSError, ValueError, KeyError):
        return "process unknown"
