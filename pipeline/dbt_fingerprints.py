"""Fingerprints of the code behind each incremental dbt model, so a model recomputes every row when it changed.

An incremental model keeps rows computed by earlier runs. They stay right only while the code that computed them
is the same: the model's SQL, every model and seed upstream of it, and every macro any of them calls (dbt's own
checksum covers a node's SQL file, not the macros it calls). The pipeline hands dbt one digest per incremental
model in CRMGRADE_CODE_FINGERPRINTS; macros/customer_increment.sql compares it with the one saved by the model's
last build.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

FINGERPRINTS_ENV = "CRMGRADE_CODE_FINGERPRINTS"


def code_fingerprints(manifest: dict, dbt_vars: dict | None = None) -> dict[str, str]:
    """unique_id -> digest of the code (and vars, as_of_date aside) behind it, for every incremental model."""
    nodes, macros = manifest["nodes"], manifest["macros"]
    # The as-of date changes every day; the models it shapes are not built per customer.
    stable_vars = {k: v for k, v in (dbt_vars or {}).items() if k != "as_of_date"}

    def macro_closure(names: list[str], seen: set[str]) -> None:
        for name in names:
            if name not in seen and name in macros:
                seen.add(name)
                macro_closure(macros[name]["depends_on"]["macros"], seen)

    fingerprints = {}
    for unique_id, node in nodes.items():
        if node["resource_type"] != "model" or node["config"].get("materialized") != "incremental":
            continue
        upstream: set[str] = set()
        pending = [unique_id]
        while pending:
            current = pending.pop()
            if current in upstream or current not in nodes:
                continue  # sources: their data is identity's business, not code
            upstream.add(current)
            pending.extend(nodes[current].get("depends_on", {}).get("nodes", []))
        used_macros: set[str] = set()
        for current in upstream:
            macro_closure(nodes[current].get("depends_on", {}).get("macros", []), used_macros)
        parts = [f"{n}={nodes[n]['checksum']['checksum']}" for n in sorted(upstream)]
        parts += [f"{m}={hashlib.sha256(macros[m]['macro_sql'].encode()).hexdigest()}" for m in sorted(used_macros)]
        parts.append(json.dumps(stable_vars, sort_keys=True, default=str))
        fingerprints[unique_id] = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return fingerprints


@lru_cache(maxsize=4)
def _manifest(path: str, mtime_ns: int) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def manifest_fingerprints(manifest_path: Path, dbt_vars: dict | None = None) -> str:
    """The JSON for CRMGRADE_CODE_FINGERPRINTS from a manifest file."""
    manifest = _manifest(str(manifest_path), manifest_path.stat().st_mtime_ns)
    return json.dumps(code_fingerprints(manifest, dbt_vars), sort_keys=True)
