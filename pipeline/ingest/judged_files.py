"""The source files ingest has judged, as fingerprints beside the warehouse (<warehouse>.judged_files.json).

The new-files sensor must not open the warehouse (a run may hold DuckDB's lock), so it cannot read the ingest
manifest. Each ingest asset writes here, per contract (source and entity), the path, size and modification
time every file had when it was judged (loaded, unchanged, rejected ...). A file whose fingerprint is here
needs no run: the sensor skips, even with no cursor of its own (a fresh `dagster dev` after `make run`). A
file changed after it was judged has another fingerprint; a contract whose ingest failed half-way keeps its
previous entries.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

Fingerprint = tuple[int, int]  # (size in bytes, modification time in ns)


def judged_files_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".judged_files.json")


def fingerprint(path: Path) -> Fingerprint:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def key(source: str, entity: str, relative_path: str) -> str:
    return f"{source}\t{entity}\t{relative_path}"


def judged_files(warehouse: Path) -> dict[str, Fingerprint]:
    """key(source, entity, path) -> fingerprint; empty when nothing was recorded (or the file is unreadable),
    and when the warehouse itself is gone: a deleted warehouse has judged nothing."""
    if not warehouse.exists():
        return {}
    try:
        data = json.loads(judged_files_path(warehouse).read_text(encoding="utf-8"))
        return {k: (int(v[0]), int(v[1])) for k, v in data.items()}
    except (OSError, ValueError, TypeError, IndexError, AttributeError):
        return {}


def record_judged_files(
    warehouse: Path, source: str, entity: str, files: Iterable[tuple[str, Fingerprint | None]]
) -> None:
    """Replace the entries of contract (`source`, `entity`) with `files` (path under sources.root, fingerprint
    when judged). Names are unique per entity, not per source: one CRM export source has leads and opportunities."""
    mine = key(source, entity, "")
    entries = {k: v for k, v in judged_files(warehouse).items() if not k.startswith(mine)}
    entries.update({key(source, entity, rel): fp for rel, fp in files if fp is not None})
    target = judged_files_path(warehouse)
    partial = target.with_name(target.name + f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(dict(sorted(entries.items())), indent=0), encoding="utf-8")
    os.replace(partial, target)  # the sensor never reads half a file
