"""The run configuration (`crmgrade.yml`): validated, with errors that name the file and the key."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "crmgrade.yml"
CONFIG_ENV = "CRMGRADE_CONFIG"
WAREHOUSE_ENV = "CRMGRADE_WAREHOUSE"


class ConfigError(ValueError):
    def __init__(self, file: Path | str, key: str, message: str):
        self.file, self.key = str(file), key
        super().__init__(f"{file}: {key}: {message}" if key else f"{file}: {message}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourcesConfig(_Strict):
    root: Path
    contracts: Path


class DemoConfig(_Strict):
    customers: int = Field(default=20_000, ge=10)
    seed: int = 42
    orders: int | None = Field(default=None, ge=1)


class Settings(_Strict):
    warehouse: Path
    timezone: str = "Asia/Shanghai"
    sources: SourcesConfig
    reports_dir: Path = Path("data/reports")
    demo: DemoConfig | None = None
    _file: Path = PrivateAttr(default=DEFAULT_CONFIG)

    @property
    def file(self) -> Path:
        """The config file these settings were read from."""
        return self._file

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


def _suggest(loc: tuple) -> str:
    model: type[BaseModel] = Settings
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        ann = getattr(field, "annotation", None)
        model = (
            next(
                (a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)), None
            )
            if ann
            else None
        )
        if model is None:
            return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_settings(file: Path | str | None = None) -> Settings:
    """Read and validate a config file; relative paths become absolute, relative to the file."""
    file = Path(file or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG).resolve()
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(file, "", "config file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(file, "", f"invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(file, "", "expected a mapping of keys to values")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        msg = "unknown key" + _suggest(err["loc"]) if err["type"] == "extra_forbidden" else err["msg"]
        raise ConfigError(file, key, msg) from None
    base = file.parent
    settings.warehouse = (base / settings.warehouse).resolve()
    settings.reports_dir = (base / settings.reports_dir).resolve()
    settings.sources.root = (base / settings.sources.root).resolve()
    settings.sources.contracts = (base / settings.sources.contracts).resolve()
    if not settings.sources.contracts.is_dir():
        raise ConfigError(file, "sources.contracts", f"folder {settings.sources.contracts} does not exist")
    if not settings.sources.root.is_dir() and settings.demo is None:
        raise ConfigError(file, "sources.root", f"folder {settings.sources.root} does not exist")
    if not settings.warehouse.parent.is_dir():
        raise ConfigError(file, "warehouse", f"folder {settings.warehouse.parent} does not exist")
    settings._file = file
    return settings


def export_environment(config_file: Path | str | None = None) -> Settings:
    """Set the environment variables the Dagster resources and the dbt profile read, from a config file."""
    settings = load_settings(config_file)
    os.environ[CONFIG_ENV] = str(settings.file)
    os.environ[WAREHOUSE_ENV] = str(settings.warehouse)
    return settings
