"""Stable customer keys: new data arriving must not renumber the customers already known."""

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.conftest import write_run_config
from tests.e2e.pipeline_runs import materialize

pytestmark = pytest.mark.slow


def _links(warehouse: Path) -> dict[tuple[str, int], str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.sql("select source_file, source_row_number, customer_key from identity.record_links").fetchall()
        return {(f, r): k for f, r, k in rows}
    finally:
        con.close()


def test_new_files_do_not_renumber_existing_customers(small_demo, tmp_path, dbt_manifest, monkeypatch):
    sources = tmp_path / "sources"
    shutil.copytree(small_demo, sources, ignore=shutil.ignore_patterns("truth"))
    # The latest month of every monthly export arrives only for the second run.
    latest = max(p.stem[-6:] for p in sources.glob("stores/pos_*.csv"))
    held = tmp_path / "held"
    for path in sources.rglob(f"*{latest}*"):
        target = held / path.relative_to(sources)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
    assert any(held.rglob("*"))
    config, warehouse = write_run_config(tmp_path, sources)
    monkeypatch.setenv("CRMGRADE_WAREHOUSE", str(warehouse))

    # Keys are the identity assets' business: dbt is not needed here.
    upstream = dg.AssetSelection.groups("ingest", "identity")
    assert materialize(config, warehouse, upstream).success
    before = _links(warehouse)
    shutil.copytree(held, sources, dirs_exist_ok=True)
    assert materialize(config, warehouse, upstream).success
    after = _links(warehouse)

    con = duckdb.connect(str(warehouse), read_only=True)
    successor = dict(
        con.sql(
            "select customer_key, successor_key from identity.customer_keys where retired_run_id is not null"
        ).fetchall()
    )
    con.close()
    assert len(after) > len(before)
    moved = {rec: (k, after[rec]) for rec, k in before.items() if after[rec] != k}
    # A record changes key only when its customer merged into another (new evidence), never by renumbering.
    assert all(successor.get(old) == new for old, new in moved.values()), list(moved.items())[:5]
    assert len({old for old, _ in moved.values()}) <= 0.02 * len(set(before.values()))
