"""A run with nothing new to read is skipped (pipeline/runs/inputs.py): what counts as new, and what does not."""

import os
from datetime import date

import duckdb
import pytest

from pipeline.config import load_settings
from pipeline.identity.never_link import ensure_tables
from pipeline.runs.inputs import TABLE, inputs_digest, record_inputs, unchanged_since
from tests.conftest import write_run_config


@pytest.fixture
def settings(tmp_path):
    sources = tmp_path / "sources"
    (sources / "tmall").mkdir(parents=True)
    (sources / "tmall" / "orders.csv").write_text("订单编号,金额\n1,10\n", encoding="utf-8")
    config, warehouse = write_run_config(tmp_path, sources)
    duckdb.connect(str(warehouse)).close()
    (tmp_path / "serving").mkdir()
    (tmp_path / "serving" / "warehouse.duckdb").write_text("")  # a published copy is there
    return load_settings(config)


def test_the_last_run_with_the_same_inputs_is_found_and_any_change_is_seen(settings, monkeypatch):
    digest = inputs_digest(settings)
    assert unchanged_since(settings, digest) is None  # no run recorded yet
    record_inputs(settings, "run-1", digest)
    assert unchanged_since(settings, digest) == "run-1"
    assert inputs_digest(settings) == digest  # computing it twice reads the same

    export = settings.sources.root / "tmall" / "orders.csv"
    export.write_text("订单编号,金额\n1,10\n2,20\n", encoding="utf-8")
    changed = inputs_digest(settings)
    assert changed != digest and unchanged_since(settings, changed) is None

    (settings.sources.root / "tmall" / "orders_2.csv").write_text("订单编号,金额\n", encoding="utf-8")
    assert inputs_digest(settings) != changed  # a new file
    os.utime(export, ns=(0, 0))
    assert inputs_digest(settings) != changed  # touched: it may have been rewritten

    now = inputs_digest(settings)
    settings.privacy.dir.mkdir(exist_ok=True)
    (settings.privacy.dir / "salt").write_text("s" * 64)  # the first run writes it: not an input
    assert inputs_digest(settings) == now
    (settings.privacy.dir / "suppressions.csv").write_text("identifier_hash,kind,erasure_id,added_at\n")
    assert inputs_digest(settings) != now  # an erasure
    now = inputs_digest(settings)
    settings.as_of_date = date(2026, 7, 2)
    assert inputs_digest(settings) != now
    settings.as_of_date = date(2026, 7, 1)
    monkeypatch.setenv("CRMGRADE_PRIVACY_SALT", "another")
    assert inputs_digest(settings) != now
    monkeypatch.delenv("CRMGRADE_PRIVACY_SALT")
    assert inputs_digest(settings) == now
    settings.identity.matching.threshold = 0.9
    assert inputs_digest(settings) != now


def test_a_pending_unmerge_or_a_missing_serving_copy_means_a_run(settings):
    digest = inputs_digest(settings)
    record_inputs(settings, "run-1", digest)
    con = duckdb.connect(str(settings.warehouse))
    ensure_tables(con)
    con.execute(
        "insert into identity.never_link_pairs "
        "values ('p1', 'unmerge', 'C0000000001', 'C0000000002', 'wrong', now(), null)"
    )
    con.close()
    assert unchanged_since(settings, digest) is None
    con = duckdb.connect(str(settings.warehouse))
    con.execute("update identity.never_link_pairs set applied_run_id = 'run-2'")
    con.close()
    assert unchanged_since(settings, digest) == "run-1"
    (settings.serving.dir / "warehouse.duckdb").unlink()
    assert unchanged_since(settings, digest) is None


def test_only_the_latest_record_counts(settings):
    digest = inputs_digest(settings)
    record_inputs(settings, "run-1", digest)
    record_inputs(settings, "run-2", "another digest")
    assert unchanged_since(settings, digest) is None
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    assert con.execute(f"select run_id from {TABLE} order by recorded_at").fetchall() == [("run-1",), ("run-2",)]
