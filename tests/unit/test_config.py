import os
from datetime import UTC, date
from pathlib import Path

import duckdb
import pytest

from pipeline.config import MEMORY_LIMIT_ENV, TEMP_DIRECTORY_ENV, ConfigError, export_environment, load_settings
from pipeline.defs.resources import DuckDBWarehouse
from tests.conftest import REPO


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "contracts").mkdir(exist_ok=True)
    (tmp_path / "src").mkdir(exist_ok=True)
    path = tmp_path / "crmgrade.yml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = "warehouse: w.duckdb\nsources:\n  root: src\n  contracts: contracts\n"


def test_repo_default_config_is_valid():
    settings = load_settings(REPO / "crmgrade.yml")
    assert settings.warehouse == REPO / "data" / "warehouse.duckdb"
    assert settings.sources.contracts == REPO / "data" / "contracts"
    assert settings.demo is not None


def test_paths_are_relative_to_the_config_file(tmp_path):
    settings = load_settings(write(tmp_path, GOOD))
    assert settings.warehouse == tmp_path / "w.duckdb"
    assert settings.sources.root == tmp_path / "src"


@pytest.mark.parametrize(
    "text, key, fragment",
    [
        (GOOD + "warehous: x\n", "warehous", "unknown key (did you mean 'warehouse'?)"),
        (GOOD.replace("  root: src", "  root: src\n  contract: c"), "sources.contract", "did you mean 'contracts'"),
        (GOOD + "timezone: Mars/Olympus\n", "timezone", "unknown time zone"),
        (GOOD.replace("contracts: contracts", "contracts: nowhere"), "sources.contracts", "does not exist"),
        (GOOD.replace("root: src", "root: nowhere"), "sources.root", "does not exist"),
        (GOOD + "demo:\n  customers: -5\n", "demo.customers", "greater than or equal to 10"),
        ("sources: {}\n", "warehouse", "Field required"),
        (GOOD + "duckdb:\n  memory_limit: lots\n", "duckdb.memory_limit", "should match pattern"),
        (
            GOOD + "serving:\n  unmasked_columns: [customers.phone, orders.order_id]\n",
            "serving.unmasked_columns",
            "['orders.order_id'] are not masked bi columns",
        ),
    ],
)
def test_errors_name_the_file_and_key(tmp_path, text, key, fragment):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(info.value).startswith(str(path))
    assert info.value.key == key
    assert fragment in str(info.value)


def test_duckdb_limits_default_to_duckdb_own_and_reach_every_connection(tmp_path):
    settings = load_settings(write(tmp_path, GOOD))
    assert settings.duckdb.connection_config(settings.warehouse) == {
        "memory_limit": "80%",
        "temp_directory": str(tmp_path / "w.duckdb.tmp"),
    }
    settings = load_settings(write(tmp_path, GOOD + "duckdb:\n  memory_limit: 1.5GB\n  temp_directory: spill\n"))
    config = settings.duckdb.connection_config(settings.warehouse)
    assert config["temp_directory"] == str(tmp_path / "spill")
    con = duckdb.connect(str(settings.warehouse), config=config)
    try:
        query = "select current_setting('memory_limit'), current_setting('temp_directory')"
        limit, spill = con.sql(query).fetchall()[0]
    finally:
        con.close()
    assert limit.endswith("GiB") and 1.2 < float(limit.split()[0]) < 1.5 and spill == str(tmp_path / "spill")


def test_duckdb_limits_reach_the_environment_and_the_warehouse_resource(tmp_path, monkeypatch):
    for name in (MEMORY_LIMIT_ENV, TEMP_DIRECTORY_ENV, "CRMGRADE_CONFIG", "CRMGRADE_WAREHOUSE"):
        monkeypatch.delenv(name, raising=False)
    settings = export_environment(write(tmp_path, GOOD + "duckdb:\n  memory_limit: 512MB\n"))
    assert os.environ[MEMORY_LIMIT_ENV] == "512MB"
    assert os.environ[TEMP_DIRECTORY_ENV] == str(tmp_path / "w.duckdb.tmp")
    resource = DuckDBWarehouse(
        path=str(settings.warehouse),
        memory_limit=os.environ[MEMORY_LIMIT_ENV],
        temp_directory=os.environ[TEMP_DIRECTORY_ENV],
    )
    with resource.connect() as con:
        query = "select current_setting('memory_limit'), current_setting('temp_directory')"
        assert con.sql(query).fetchall()[0] == ("488.2 MiB", str(tmp_path / "w.duckdb.tmp"))


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yml")


def test_as_of_date_defaults_to_today_in_the_business_time_zone(tmp_path):
    from datetime import date, datetime

    settings = load_settings(write(tmp_path, GOOD + "timezone: Asia/Shanghai\n"))
    # 17:30 UTC on 1 March is already 2 March in Shanghai
    assert settings.resolved_as_of_date(datetime(2026, 3, 1, 17, 30, tzinfo=UTC)) == date(2026, 3, 2)
    dated = load_settings(write(tmp_path, GOOD + "as_of_date: 2025-12-31\n"))
    assert dated.dbt_vars() == {
        "as_of_date": "2025-12-31",
        "timezone": "Asia/Shanghai",
        "drift": dated.monitoring.drift.model_dump(),
        "campaign_effect": {"window_days": 30, "min_customers": 30},
        "membership_effect": {"window_days": 90, "min_customers": 30},
        "bi_unmasked": [],
    }


def test_drift_thresholds_default_like_the_dbt_project_and_are_checked(tmp_path):
    import yaml

    from pipeline.monitoring.config import CampaignEffectConfig, DriftConfig, MembershipEffectConfig
    from pipeline.paths import REPO_ROOT

    dbt_vars = yaml.safe_load((REPO_ROOT / "dbt_project/dbt_project.yml").read_text())["vars"]
    assert dbt_vars["drift"] == DriftConfig().model_dump()
    assert dbt_vars["campaign_effect"] == CampaignEffectConfig().model_dump()
    assert dbt_vars["membership_effect"] == MembershipEffectConfig().model_dump()
    tuned = load_settings(write(tmp_path, GOOD + "monitoring:\n  drift: {grade_change_share: 0.1}\n"))
    assert tuned.dbt_vars()["drift"]["grade_change_share"] == 0.1
    with pytest.raises(ConfigError, match="min_baseline_runs"):
        load_settings(write(tmp_path, GOOD + "monitoring:\n  drift: {baseline_runs: 3, min_baseline_runs: 5}\n"))
    with pytest.raises(ConfigError, match="null_share_change"):
        load_settings(write(tmp_path, GOOD + "monitoring:\n  drift: {null_share_change: 2}\n"))


def test_an_as_of_date_before_partitions_start_starts_the_partitions(tmp_path):
    # A 1990s history graded as of 1998: the default partitions_start (2020) made `crmgrade run` refuse the date.
    from pipeline.defs.partitions import as_of_partitions

    settings = load_settings(write(tmp_path, GOOD + "as_of_date: 1998-07-01\n"))
    assert as_of_partitions(settings).start.date().isoformat() == "1998-07-01"
    later = load_settings(write(tmp_path, GOOD + "as_of_date: 2026-07-01\n"))
    assert as_of_partitions(later).start.date().isoformat() == "2020-01-01"


def test_a_mistyped_source_root_is_an_error_even_with_a_demo_block(tmp_path):
    # The shipped config's demo block generated 20,000 made-up customers into any missing sources.root.
    text = "warehouse: w.duckdb\nsources:\n  root: data/exprots\n  contracts: contracts\ndemo: {customers: 100}\n"
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    assert "data/exprots does not exist (the demo block generates data only into demo.dir" in str(info.value)
    demo = load_settings(write(tmp_path, text.replace("data/exprots", "data/demo")))
    assert demo.generates_demo_data()
    (tmp_path / "data" / "demo").mkdir(parents=True)
    assert not load_settings(write(tmp_path, text.replace("data/exprots", "data/demo"))).generates_demo_data()


@pytest.mark.parametrize(
    ("settings", "key", "fragment"),
    [
        # docs/bi.md gives BI tools data/serving/warehouse.duckdb: a warehouse there would serve raw phones and the salt
        ("warehouse: serving/warehouse.duckdb\nserving: {dir: serving}\n", "warehouse", "inside serving.dir"),
        ("warehouse: reports/w.duckdb\nreports_dir: reports\n", "warehouse", "inside reports_dir"),
        ("warehouse: out/crm/w.duckdb\noutbox_dir: out\n", "warehouse", "inside outbox_dir"),
        ("warehouse: w.duckdb\nserving: {dir: exports/bi}\n", "serving.dir", "inside sources.root"),
    ],
)
def test_the_warehouse_may_not_lie_where_its_readers_look(tmp_path, settings, key, fragment):
    for folder in ("exports/bi", "contracts", "serving", "reports", "out/crm"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    (tmp_path / "crmgrade.yml").write_text(
        settings + "sources: {root: exports, contracts: contracts}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=f"{key}: .*{fragment}"):
        load_settings(tmp_path / "crmgrade.yml")


def test_a_run_reads_the_file_once_and_its_day_never_changes_the_settings_read(tmp_path):
    import dagster as dg

    from pipeline.defs.resources import CrmgradeSettings, settings_of_this_run

    config = write(tmp_path, GOOD + "as_of_date: 2026-07-01\n")
    settings = load_settings(config)
    day = settings.on(date(2026, 8, 1))
    assert (day.as_of_date, settings.as_of_date) == (date(2026, 8, 1), date(2026, 7, 1))

    resource = CrmgradeSettings(config_file=str(config))
    config.write_text(GOOD + "as_of_date: 2030-01-01\n", encoding="utf-8")  # edited while the run goes on
    with settings_of_this_run(day):
        resource.setup_for_execution(dg.build_init_resource_context())
    assert resource.load().as_of_date == date(2026, 8, 1), "the run's settings, not the file edited since"
    outside = CrmgradeSettings(config_file=str(config))
    outside.setup_for_execution(dg.build_init_resource_context())
    assert outside.load().as_of_date == date(2030, 1, 1), "a run from the UI reads the file"
