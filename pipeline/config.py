"""The run configuration (`crmgrade.yml`): validated, with errors that name the file and the key."""

from __future__ import annotations

import os
import re
from datetime import date, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, field_validator, model_validator

from pipeline.contracts.schema import IDENTIFIERS
from pipeline.identity.attributes import COMPARISON_NAMES, PROFILE_COLUMNS
from pipeline.paths import REPO_ROOT
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


class DemoConfig(StrictModel):
    dir: Path = Field(
        default=Path("data/demo"),
        description="The only folder the demo data is generated into, when it is missing and is sources.root: "
        "a mistyped sources.root is an error, not 20,000 made-up customers graded as if they were yours.",
    )
    customers: int = Field(default=20_000, ge=10)
    seed: int = 42
    orders: int | None = Field(default=None, ge=1)


class QualityConfig(StrictModel):
    max_volume_drop: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="A file replacing an earlier version is rejected when it has lost more than this share of rows.",
    )
    max_history_years: int = Field(
        default=50,
        ge=1,
        le=200,
        description="Events (orders, interactions, tickets...) dated more than this many years before the as-of "
        "date are quarantined: an Excel zero date (1899-12-30, 1900-01-01) is not an order. A source can set its "
        "own (contract quality.max_history_years or quality.earliest).",
    )
    max_amount: float = Field(
        default=10_000_000,
        gt=0,
        description="An order amount or refund above this, in the source's currency, is quarantined as absurd; "
        "a source can set its own (contract quality.max_amount).",
    )
    max_quarantine_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="A source with more than this share of the rows it delivered in a run quarantined stops its "
        "entity and fails the run (pipeline/quality/gate.py); a source can set its own (contract "
        "quality.max_quarantine_share).",
    )


# The names pipeline/contracts/schema.py IDENTIFIERS lists (Literal of the tuple: one list, not two)
IdentifierName = Literal[IDENTIFIERS]
ComparisonName = Literal[COMPARISON_NAMES]
ProfileColumn = Literal[PROFILE_COLUMNS]


class MatchingConfig(StrictModel):
    enabled: bool = True
    threshold: float = Field(
        default=0.95,
        gt=0,
        lt=1,
        description="Two profiles are one customer when Splink's match probability is at least this (0.95, as "
        "Splink's documented models use: pairwise precision 1.000 on people_fake_1000 and FEBRL 1 and 2, 0.99999 "
        "on the demo's planted truth; docs/identity.md).",
    )
    seed: int = Field(default=42, description="Seed of Splink's random sampling (u estimates), for repeatable runs.")
    unique_masked_phone: bool = Field(
        default=True,
        description="A nameless record with a full mobile number joins the one customer whose masked number "
        "(138****1234) it fits, when exactly one does (pipeline/identity/masked_phone.py).",
    )
    comparisons: list[ComparisonName] | None = Field(
        default=None,
        description="The attributes Splink compares (pipeline/identity/model_plan.py COMPARISONS). Default: every "
        "one that at least 5% of profiles carry.",
    )
    blocking_rules: list[list[ProfileColumn]] | None = Field(
        default=None,
        description="The rules generating the pairs Splink scores, each a list of columns equal on both sides "
        "([[phone_pattern], [name, city]]). Default: those of the compared attributes that are selective enough.",
    )

    @field_validator("comparisons", "blocking_rules")
    @classmethod
    def _not_empty(cls, value: list | None) -> list | None:
        if value is not None and (not value or any(isinstance(v, list) and not v for v in value)):
            raise ValueError("an empty list: leave the setting out to let the data decide")
        return value


class SurvivorshipConfig(StrictModel):
    source_trust: list[str] = Field(
        default_factory=list,
        description="Sources from most to least trusted; a golden-record attribute comes from the most trusted "
        "source that has it, then from the most recent record. Unlisted sources rank after listed ones.",
    )


KEY_PATTERN = re.compile(r"C\d{10}")  # pipeline/identity/keys.py format_key


class NeverLink(StrictModel):
    """Two customers that must never be one (pipeline/identity/never_link.py)."""

    customers: tuple[str, str] = Field(
        description="Two customer keys. A live key stands for the records it holds when the entry is first applied; "
        "a key retired by a merge for the records it held before that merge, and it comes back."
    )
    reason: str = Field(min_length=1, description="Why: kept with the entry in identity.never_link_pairs.")

    @field_validator("customers")
    @classmethod
    def _two_keys(cls, value: tuple[str, str]) -> tuple[str, str]:
        for key in value:
            if not KEY_PATTERN.fullmatch(key):
                raise ValueError(f"{key!r} is not a customer key (C followed by 10 digits)")
        if value[0] == value[1]:
            raise ValueError("the two customers are the same key")
        return value


class IdentityConfig(StrictModel):
    identifiers: list[IdentifierName] = Field(
        default=list(IDENTIFIERS),
        min_length=1,
        description="Identifiers that link records on exact equality (after cleaning).",
    )
    max_names_per_identifier: int = Field(
        default=3,
        ge=1,
        description="An identifier value seen with more distinct names than this is shared (a shop's phone, a "
        "placeholder e-mail) and links nothing.",
    )
    matching: MatchingConfig = MatchingConfig()
    survivorship: SurvivorshipConfig = SurvivorshipConfig()
    incremental: bool = Field(
        default=True,
        description="When the run only adds files, resolve only the new records and the customers they can touch, "
        "with the Splink model of the last full resolution (pipeline/identity/increment.py).",
    )
    full_resolution_every_days: int = Field(
        default=7,
        ge=1,
        description="Resolve every record again, and train Splink again, when the last full resolution is this "
        "many days old.",
    )
    never_link: list[NeverLink] = Field(
        default_factory=list,
        description="Pairs of customers kept apart whatever links them (a wrong merge undone, a shared household "
        "phone); `crmgrade identity unmerge` does the same for one merge from the command line.",
    )

    @field_validator("identifiers")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("an identifier is listed twice")
        return value


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


class DriftConfig(StrictModel):
    """When monitoring.drift_alerts raises an alert (each alert carries the figures it was raised on)."""

    grade_change_share: float = Field(
        default=0.25, gt=0, le=1, description="More than this share of customers changed grade since the last run."
    )
    segment_share_change: float = Field(
        default=0.05, gt=0, le=1, description="A segment's share of customers moved more than this since the last run."
    )
    baseline_runs: int = Field(
        default=14, ge=2, description="A source's usual range: its deliveries on this many earlier as-of dates."
    )
    min_baseline_runs: int = Field(
        default=5, ge=2, description="Fewer earlier deliveries than this: no volume or null-share alert yet."
    )
    volume_change: float = Field(
        default=0.5, gt=0, description="Rows delivered differ from the usual median by more than this share..."
    )
    volume_mads: float = Field(
        default=3.0, gt=0, description="... and by more than this many (scaled) median absolute deviations."
    )
    null_share_change: float = Field(
        default=0.2, gt=0, le=1, description="A column's share of empty values moved this far from its usual share."
    )
    sigmas: float = Field(
        default=3.0,
        gt=0,
        description="Volume and null-share differences must also exceed this many standard errors of chance "
        "(Poisson for rows, binomial for shares): a delivery of 3 rows says little.",
    )

    cut_point_change: float = Field(
        default=0.25,
        gt=0,
        description="A quantile cut point moved more than this share of its value since the previous graded "
        "date (same spec version).",
    )

    @model_validator(mode="after")
    def _baseline(self) -> DriftConfig:
        if self.min_baseline_runs > self.baseline_runs:
            raise ValueError("min_baseline_runs cannot exceed baseline_runs")
        return self


class BacktestConfig(StrictModel):
    """monitoring.backtest_*: the grades of a past day against what its customers bought in the days after it."""

    horizon_days: int = Field(
        default=90,
        ge=1,
        description="The period after a graded day in which purchases and revenue are counted; a day is "
        "backtested once this many days have passed before the run's as-of date.",
    )


class CampaignEffectConfig(StrictModel):
    """monitoring.campaign_effect: each campaign's customers against a comparison group, before and after."""

    window_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="Net spend is compared in this many days before and after a campaign's first contact; a "
        "campaign is evaluated once that many days have passed before the run's as-of date.",
    )
    min_customers: int = Field(
        default=30,
        ge=2,
        le=100_000,
        description="An effect is estimated only on at least this many targeted customers measured against at least "
        "this many comparison customers; a smaller group's row says 'insufficient data' and carries no estimate.",
    )


class MembershipEffectConfig(StrictModel):
    """monitoring.membership_effect: customers who joined the loyalty programme against those who did not."""

    window_days: int = Field(
        default=90,
        ge=1,
        le=365,
        description="Net spend is compared in this many days before and after joining; a month of joining is "
        "evaluated once that many days have passed after its last joiner before the run's as-of date.",
    )
    min_customers: int = Field(
        default=30,
        ge=2,
        le=100_000,
        description="An effect is estimated only on at least this many joiners measured against at least "
        "this many comparison customers; a smaller group's row says 'insufficient data' and carries no estimate.",
    )


class MonitoringConfig(StrictModel):
    drift: DriftConfig = DriftConfig()
    backtest: BacktestConfig = BacktestConfig()
    campaign_effect: CampaignEffectConfig = CampaignEffectConfig()
    membership_effect: MembershipEffectConfig = MembershipEffectConfig()


class ServingConfig(StrictModel):
    """The serving copy BI tools read (pipeline/serving, docs/bi.md)."""

    dir: Path = Field(
        default=Path("data/serving"),
        description="Published versions of the bi schema: warehouse.duckdb and Parquet files, switched atomically.",
    )
    keep_versions: int = Field(
        default=5, ge=1, description="Published versions kept for `crmgrade publish --rollback`."
    )
    unmasked_columns: list[str] = Field(
        default_factory=list,
        description="bi columns BI may see in clear, as table.column (e.g. customers.name); every other personal "
        "column is masked or hashed (pipeline/serving/masking.py lists them).",
    )

    @field_validator("unmasked_columns")
    @classmethod
    def _known_personal_columns(cls, value: list[str]) -> list[str]:
        from pipeline.serving.masking import PERSONAL_COLUMNS

        unknown = sorted(set(value) - set(PERSONAL_COLUMNS))
        if unknown:
            raise ValueError(f"{unknown} are not masked bi columns; these are: {sorted(PERSONAL_COLUMNS)}")
        return value


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


class PrivacyConfig(StrictModel):
    """Erasure and suppression (pipeline/privacy). Kept outside the warehouse: a rebuild from the source files
    must still leave out the people who asked to be erased."""

    dir: Path = Field(
        default=Path("data/privacy"),
        description="The salt (unless $CRMGRADE_PRIVACY_SALT is set), the suppression list and the erasure log.",
    )


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
        "compared in monitoring.shadow_grade_comparison; what BI sees stays the live grades (docs/grading.md).",
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

    def connect_warehouse(self, read_only: bool = False):
        """A connection to the warehouse with the configured limits, outside Dagster (the CLI, the runner); the
        Dagster steps get theirs from the warehouse resource, set from the same limits (pipeline/defs/resources.py).
        """
        import duckdb  # here: reading crmgrade.yml needs no database

        return duckdb.connect(
            str(self.warehouse), read_only=read_only, config=self.duckdb.connection_config(self.warehouse)
        )

    def generates_demo_data(self) -> bool:
        """Whether a run generates the demo set: its folder is missing and is the one the demo block names."""
        return self.demo is not None and self.sources.root == self.demo.dir and not self.sources.root.is_dir()

    def business_date(self, now: datetime | None = None) -> date:
        """Today (or `now`'s day) in the business time zone."""
        return (now or datetime.now(ZoneInfo(self.timezone))).astimezone(ZoneInfo(self.timezone)).date()

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
