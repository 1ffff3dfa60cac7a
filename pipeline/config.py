"""The run configuration (`crmgrade.yml`): validated, with errors that name the file and the key."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, field_validator, model_validator

from pipeline.demo.config import DemoConfig
from pipeline.identity.config import IdentityConfig
from pipeline.monitoring.config import MonitoringConfig
from pipeline.paths import REPO_ROOT
from pipeline.privacy.config import PrivacyConfig
from pipeline.quality.config import QualityConfig
from pipeline.serving.config import ServingConfig
from pipeline.validated_yaml import StrictModel, YamlFileError, load_yaml_model

DEFAULT_CONFIG = REPO_ROOT / "crmgrade.yml"
CONFIG_ENV = "CRMGRADE_CONFIG"
WAREHOUSE_ENV = "CRMGRADE_WAREHOUSE"
MEMORY_LIMIT_ENV = "CRMGRADE_DUCKDB_MEMORY_LIMIT"
TEMP_DIRECTORY_ENV = "CRMGRADE_DUCKDB_TEMP_DIRECTORY"


class ConfigError(YamlFileError):
    pass


class SourcesConfig(StrictModel):
    root: Path
    contracts: Path


class ScheduleConfig(StrictModel):
    """The nightly run (a Dagster schedule; runs when the Dagster daemon runs)."""

    enabled: bool = True
    cron: str = Field(default="0 2 * * *", description="When, as a cron expression (default 02:00).")
    timezone: str | None = Field(default=None, description="Time zone of the cron (default: `timezone`).")


class NewFilesSensorConfig(StrictModel):
    """A run when files matching a source contract appear or change under sources.root."""

    enabled: bool = True
    minimum_interval_seconds: int = Field(default=60, ge=10)
    settle_seconds: int = Field(
        default=120, ge=0, description="A file changed more recently than this is still being written: wait."
    )


class FreshnessConfig(StrictModel):
    """When the marts of the latest as-of date must exist (Dagster freshness checks, evaluated by a sensor)."""

    enabled: bool = True
    deadline_cron: str = Field(
        default="0 6 * * *",
        description="By this time (cron, in the schedule's time zone) the day's as-of partition must be built.",
    )


class OperationsConfig(StrictModel):
    schedule: ScheduleConfig = ScheduleConfig()
    new_files_sensor: NewFilesSensorConfig = NewFilesSensorConfig()
    partitions_start: date = Field(
        default=date(2020, 1, 1),
        description="The first as-of date Dagster offers as a daily partition (runs and backfills start here).",
    )
    freshness: FreshnessConfig = FreshnessConfig()


class DuckDBConfig(StrictModel):
    """Limits of every connection the job opens on the warehouse: the Python steps' and dbt's."""

    memory_limit: str = Field(
        default="80%",
        pattern=r"(?i)^\s*\d+(\.\d+)?\s*(%|[kmgt]i?b)\s*$",
        description="DuckDB's memory_limit (e.g. 3GB, 50%): beyond it DuckDB spills to temp_directory. It bounds "
        "DuckDB's buffers, not the Polars frames of the Python steps.",
    )
    temp_directory: Path | None = Field(default=None, description="Where DuckDB spills; default <warehouse>.tmp.")

    def connection_config(self, warehouse: Path) -> dict[str, str]:
        """duckdb.connect(warehouse, config=...)."""
        spill = self.temp_directory or warehouse.with_name(warehouse.name + ".tmp")  # DuckDB's own default
        return {"memory_limit": self.memory_limit.strip(), "temp_directory": str(spill)}

    def environment(self, warehouse: Path) -> dict[str, str]:
        """The variables the warehouse resource and the dbt profile read."""
        config = self.connection_config(warehouse)
        return {MEMORY_LIMIT_ENV: config["memory_limit"], TEMP_DIRECTORY_ENV: config["temp_directory"]}


class Settings(StrictModel):
    warehouse: Path
    timezone: str = "Asia/Shanghai"
    country: str = Field(
        default="CN",
        description="ISO 3166 code of the business's home country: a phone without a country code is read as "
        "one of its numbers (a contract's own `country` wins).",
    )
    as_of_date: date | None = Field(
        default=None,
        description="Facts and grades are computed as of this date from data stamped before it; "
        "default today in `timezone`. `crmgrade run --as-of` and a Dagster partition override it for their run.",
    )
    sources: SourcesConfig
    reports_dir: Path = Path("data/reports")
    outbox_dir: Path = Field(
        default=Path("data/outbox"),
        description="Where the activation events go: one folder per destination of rules.yml, a file per run.",
    )
    demo: DemoConfig | None = None
    quality: QualityConfig = QualityConfig()
    identity: IdentityConfig = IdentityConfig()
    grading: Path | None = Field(
        default=None, description="The grading spec (default: grading.yml beside the repository's crmgrade.yml)."
    )
    rules: Path | None = Field(
        default=None, description="Tag rules (default: rules.yml beside the repository's crmgrade.yml)."
    )
    shadow_grading: Path | None = Field(
        default=None,
        description="A candidate grading spec graded beside the live one on every run (schema shadow_marts), "
        "compared in evaluation.shadow_grade_comparison; what BI sees stays the live grades (docs/grading.md).",
    )
    operations: OperationsConfig = OperationsConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    serving: ServingConfig = ServingConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    duckdb: DuckDBConfig = DuckDBConfig()
    _file: Path = PrivateAttr(default=DEFAULT_CONFIG)

    @property
    def file(self) -> Path:
        """The config file these settings were read from."""
        return self._file

    def connect_warehouse(self, read_only: bool = False, said: Callable[[str], None] = lambda _: None):
        """A connection to the warehouse with the configured limits, outside Dagster (the CLI, pipeline/runs); the
        Dagster steps get theirs from the warehouse resource, set from the same limits (pipeline/defs/resources.py).
        A writing connection first brings a warehouse of an older layout to today's (pipeline/warehouse_migrations.py),
        each migration applied told to `said`.
        """
        import duckdb  # here: reading crmgrade.yml needs no database

        from pipeline.warehouse_migrations import migrate

        con = duckdb.connect(
            str(self.warehouse), read_only=read_only, config=self.duckdb.connection_config(self.warehouse)
        )
        if not read_only:
            try:
                for migration in migrate(con):
                    said(f"Migrated the warehouse: {migration.why} ({migration.name})")
            except BaseException:
                con.close()
                raise
        return con

    def generates_demo_data(self) -> bool:
        """Whether a run generates the demo set: its folder is missing and is the one the demo block names."""
        return self.demo is not None and self.sources.root == self.demo.dir and not self.sources.root.is_dir()

    def business_date(self, now: datetime | None = None) -> date:
        """Today (or `now`'s day) in the business time zone."""
        return (now or datetime.now(ZoneInfo(self.timezone))).astimezone(ZoneInfo(self.timezone)).date()

    def on(self, as_of: date) -> Settings:
        """These settings for one as-of date (a run's `--as-of`, a Dagster partition): a copy, so the settings
        read from the file keep saying what the file says."""
        return self.model_copy(update={"as_of_date": as_of})

    def resolved_as_of_date(self, now: datetime | None = None) -> date:
        """The configured as-of date, else today in the business time zone."""
        return self.as_of_date if self.as_of_date is not None else self.business_date(now)

    def dbt_vars(self) -> dict[str, object]:
        """The dbt vars of a run: the as-of date, the time zone, the drift thresholds, the campaign- and
        membership-effect windows and the bi columns shown unmasked (dbt_project.yml)."""
        return {
            "as_of_date": self.resolved_as_of_date().isoformat(),
            "timezone": self.timezone,
            "drift": self.monitoring.drift.model_dump(),
            "campaign_effect": self.monitoring.campaign_effect.model_dump(),
            "membership_effect": self.monitoring.membership_effect.model_dump(),
            "bi_unmasked": list(self.serving.unmasked_columns),
        }

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        from pipeline.contracts.model import check_country

        return check_country(value)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _known_timezone(value)

    @model_validator(mode="after")
    def _schedule_timezone(self) -> Settings:
        if self.operations.schedule.timezone is not None:
            _known_timezone(self.operations.schedule.timezone)
        return self

    @property
    def schedule_timezone(self) -> str:
        return self.operations.schedule.timezone or self.timezone


def _known_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


def _no_overlaps(settings: Settings, file: Path) -> None:
    """The warehouse holds raw phones and the hashing salt: it may never lie where its readers look (the serving
    folder BI tools read, the reports, the outbox a CRM takes), nor the serving copy inside the sources root."""
    outside = {
        "serving.dir": settings.serving.dir,
        "reports_dir": settings.reports_dir,
        "outbox_dir": settings.outbox_dir,
    }
    for key, folder in outside.items():
        if settings.warehouse.resolve().is_relative_to(folder.resolve()):
            raise ConfigError(
                file,
                "warehouse",
                f"{settings.warehouse} is inside {key} ({folder}), which others read: the working warehouse holds "
                "raw phones and the hashing salt. BI tools read the serving copy, which the run publishes into "
                f"{settings.serving.dir}; keep the warehouse out of it",
            )
    if settings.serving.dir.resolve().is_relative_to(settings.sources.root.resolve()):
        raise ConfigError(
            file, "serving.dir", f"{settings.serving.dir} is inside sources.root ({settings.sources.root}): keep it out"
        )


def load_settings(file: Path | str | None = None) -> Settings:
    """Read and validate a config file; relative paths become absolute, relative to the file."""
    file = Path(file or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG).resolve()
    settings = load_yaml_model(file, Settings, ConfigError, not_found="config file not found")
    base = file.parent
    settings.warehouse = (base / settings.warehouse).resolve()
    settings.reports_dir = (base / settings.reports_dir).resolve()
    settings.outbox_dir = (base / settings.outbox_dir).resolve()
    settings.serving.dir = (base / settings.serving.dir).resolve()
    settings.privacy.dir = (base / settings.privacy.dir).resolve()
    if settings.duckdb.temp_directory is not None:
        settings.duckdb.temp_directory = (base / settings.duckdb.temp_directory).resolve()
    settings.sources.root = (base / settings.sources.root).resolve()
    settings.sources.contracts = (base / settings.sources.contracts).resolve()
    settings.grading = (base / settings.grading).resolve() if settings.grading else REPO_ROOT / "grading.yml"
    settings.rules = (base / settings.rules).resolve() if settings.rules else REPO_ROOT / "rules.yml"
    if settings.shadow_grading is not None:
        settings.shadow_grading = (base / settings.shadow_grading).resolve()
    if not settings.sources.contracts.is_dir():
        raise ConfigError(file, "sources.contracts", f"folder {settings.sources.contracts} does not exist")
    if settings.demo is not None:
        settings.demo.dir = (base / settings.demo.dir).resolve()
    if not settings.sources.root.is_dir() and not settings.generates_demo_data():
        demo = (
            f" (the demo block generates data only into demo.dir, {settings.demo.dir})"
            if settings.demo is not None
            else ""
        )
        raise ConfigError(file, "sources.root", f"folder {settings.sources.root} does not exist{demo}")
    _no_overlaps(settings, file)
    if not settings.warehouse.parent.is_dir():
        raise ConfigError(file, "warehouse", f"folder {settings.warehouse.parent} does not exist")
    settings._file = file
    return settings


def export_environment(config_file: Path | str | None = None) -> Settings:
    """Set the environment variables the Dagster resources and the dbt profile read, from a config file."""
    settings = load_settings(config_file)
    os.environ[CONFIG_ENV] = str(settings.file)
    os.environ[WAREHOUSE_ENV] = str(settings.warehouse)
    os.environ.update(settings.duckdb.environment(settings.warehouse))
    return settings
