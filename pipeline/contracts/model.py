"""Source contracts: one YAML file per source, describing how to read it and map it to the canonical schema."""

from __future__ import annotations

import codecs
import difflib
import re
from datetime import date
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.contracts.expressions import ExpressionError, parse_expression
from pipeline.contracts.schema import ENTITIES, ColumnType
from pipeline.validated_yaml import YamlFileError, load_yaml_model


def check_country(value: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code the phone library knows, upper-cased."""
    from pipeline.quality.cleaning import is_country

    if value is not None and not is_country(value.upper()):
        raise ValueError(f"unknown country {value!r}: an ISO 3166 code such as CN, US, GB, DE")
    return value.upper() if value else value


class ContractError(YamlFileError):
    """A contract file that cannot be used. The message names the file and the key."""


# The signs and words exports write beside an amount in each currency, longest first. Only the contract's own
# are dropped: '$12' in a yuan export, or 'EUR 12', is not a yuan amount and fails to parse (quarantined).
_CURRENCY_MARKS = {
    "CNY": ["CN¥", "RMB", "元", "¥", "￥"],
    "JPY": ["JP¥", "円", "¥", "￥"],
    "USD": ["US$", "$"],
    "HKD": ["HK$", "$"],
    "TWD": ["NT$", "$"],
    "SGD": ["S$", "$"],
    "AUD": ["AU$", "A$", "$"],
    "CAD": ["CA$", "C$", "$"],
    "EUR": ["€"],
    "GBP": ["£"],
    "KRW": ["₩"],
    "INR": ["₹"],
}


class HelperColumn(BaseModel):
    """A source column kept only as input to derived fields (e.g. an amount in fen, a status code)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    type: ColumnType


class Returns(BaseModel):
    """Which lines of an order export are returns or cancellations (a UK-style 'C536379' invoice of negative
    quantities). Such a line is kept as a returned line of its value: amount and refund_amount the value returned,
    quantity positive, status 'returned'. An order of such lines only is a credit note: not a purchase, and its
    value lowers its customer's net spend (int_orders); a returned line within an invoice refunds that invoice."""

    model_config = ConfigDict(extra="forbid")
    negative_quantity: bool = Field(default=False, description="A line with a quantity below 0 is a return.")
    order_id_prefix: str | None = Field(
        default=None, min_length=1, description="An order id starting with this (e.g. 'C') is a return."
    )


class SourceQuality(BaseModel):
    """Validation limits of this source, where they differ from crmgrade.yml's `quality` (docs/your-data.md)."""

    model_config = ConfigDict(extra="forbid")
    earliest: date | None = Field(default=None, description="No event of this source is dated before this day.")
    max_history_years: int | None = Field(default=None, ge=1, le=200)
    max_amount: float | None = Field(default=None, gt=0, description="In the source's currency.")
    max_quarantine_share: float | None = Field(
        default=None,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="More than this share of the rows read in a run quarantined stops the entity (crmgrade.yml's "
        "quality.max_quarantine_share where unset).",
    )

    @model_validator(mode="after")
    def _one_lower_bound(self) -> SourceQuality:
        if self.earliest is not None and self.max_history_years is not None:
            raise ValueError("give earliest or max_history_years, not both")
        return self


class SourceContract(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Short name, stored in _source.")
    entity: Literal[tuple(ENTITIES)]  # type: ignore[valid-type]
    description: str = ""
    path: str = Field(description="Glob of the files, relative to the sources root.")
    format: Literal["csv", "xlsx", "jsonl", "parquet"]
    encoding: str = "utf-8"
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    header_row: int = Field(default=1, ge=1, description="1-based row holding the column names.")
    sheet: str | None = None
    merged_cells: Literal["fill", "quarantine"] = Field(
        default="fill",
        description="xlsx: a merged cell's value fills every cell it covers, as Excel shows it (fill), or the rows "
        "it covers below its first are set aside (quarantine).",
    )
    grain: Literal["record", "order_line"] = "record"
    fill_down: list[str] = Field(
        default=[],
        description="Source columns an export fills on an order's first line only (Shopify's status, e-mail, "
        "customer): carried down to the order's other lines, within the order id, in file order.",
    )
    columns: dict[str, str | HelperColumn] = Field(min_length=1)
    derived: dict[str, str] = {}
    null_values: list[str] = ["", "NULL", "null", "None", "N/A", "n/a", "-", "--", "\\N"]
    date_formats: list[str] = Field(default=["%Y-%m-%d"], min_length=1)
    datetime_formats: list[str] = Field(default=["%Y-%m-%d %H:%M:%S"], min_length=1)
    timezone: str = "Asia/Shanghai"
    country: str | None = Field(
        default=None,
        description="ISO 3166 code of the country a phone without a country code is from (US, GB, DE...); "
        "crmgrade.yml's `country` where unset.",
    )
    currency: str = Field(
        default="CNY",
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 code of the source's amounts; they are kept in it, and grading.yml says its own.",
    )
    quality: SourceQuality = SourceQuality()
    returns: Returns | None = None
    decimal_separator: Literal[".", ","] = "."
    thousands_separator: Literal[",", ".", " ", "'", ""] = Field(
        default=",", description="Groups of three digits; ' ' also stands for thin and non-breaking spaces."
    )
    true_values: list[str] = ["1", "true", "t", "yes", "y", "是", "已同意", "√"]
    false_values: list[str] = ["0", "false", "f", "no", "n", "否", "未同意", "×"]

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None
        return value

    @field_validator("path")
    @classmethod
    def _inside_root(cls, value: str) -> str:
        # The glob is relative to sources.root and may not climb out of it (links out are refused when listed).
        parts = value.replace("\\", "/").split("/")
        if value.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", value):
            raise ValueError(f"{value!r} is absolute; a path is a glob relative to sources.root")
        if ".." in parts:
            raise ValueError(f"{value!r} climbs out of sources.root with '..'")
        return value

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        return check_country(value)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("date_formats", "datetime_formats")
    @classmethod
    def _strftime_formats(cls, value: list[str]) -> list[str]:
        for fmt in value:
            if not re.search(r"%[YmdyHMSbBjI]", fmt):
                raise ValueError(f"{fmt!r} is not a strftime format (expected e.g. %Y-%m-%d)")
        return value

    @model_validator(mode="after")
    def _separators_differ(self) -> SourceContract:
        if self.decimal_separator == self.thousands_separator:
            raise ValueError(f"decimal_separator and thousands_separator are both {self.decimal_separator!r}")
        return self

    @model_validator(mode="after")
    def _grain_fits_entity(self) -> SourceContract:
        if self.grain == "order_line" and self.entity != "orders":
            raise ValueError("grain 'order_line' is only valid for entity 'orders'")
        if self.returns is not None and self.entity != "orders":
            raise ValueError("returns are only valid for entity 'orders'")
        if self.fill_down and self.grain != "order_line":
            raise ValueError("fill_down carries values down an order's lines: it needs grain 'order_line'")
        return self

    # -- derived views of the contract ------------------------------------------------------------
    def currency_markers(self) -> list[str]:
        """Signs and words beside an amount that name the source's currency, longest first."""
        return [self.currency, *_CURRENCY_MARKS.get(self.currency, [])]

    @property
    def canonical(self) -> dict[str, ColumnType]:
        return ENTITIES[self.entity]

    def filled_columns(self) -> list[str]:
        """The canonical columns this contract fills (mapped or derived), in schema order."""
        filled = {t for t in self.columns.values() if isinstance(t, str)} | set(self.derived)
        return [c for c in self.canonical if c in filled]

    def target_types(self) -> dict[str, ColumnType]:
        """Every column a mapped or helper column produces, with its type."""
        out: dict[str, ColumnType] = {}
        for target in self.columns.values():
            if isinstance(target, HelperColumn):
                out[target.name] = target.type
            else:
                out[target] = self.canonical[target]
        return out


def _suggest(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_contract(contract: SourceContract, file: Path | str) -> None:
    """Cross-field checks pydantic cannot express: column names and expressions against the schema."""
    canonical = contract.canonical
    seen: dict[str, str] = {}
    for source_col, target in contract.columns.items():
        key = f"columns.{source_col}"
        if isinstance(target, HelperColumn):
            if target.name in canonical:
                raise ContractError(file, key, f"helper {target.name!r} shadows a canonical column; map it directly")
            name = target.name
        else:
            if target not in canonical:
                raise ContractError(
                    file,
                    key,
                    f"unknown canonical column {target!r} for entity {contract.entity!r}"
                    f"{_suggest(target, canonical)}; valid: {sorted(canonical)}",
                )
            name = target
        if name in seen:
            raise ContractError(file, key, f"{name!r} is already mapped from column {seen[name]!r}")
        seen[name] = source_col
    for i, column in enumerate(contract.fill_down):
        if column not in contract.columns:
            raise ContractError(
                file,
                f"fill_down[{i}]",
                f"{column!r} is not a column the contract maps{_suggest(column, contract.columns)}",
            )
        if "order_id" not in seen:
            raise ContractError(file, "fill_down", "carries values down an order's lines: map a column to order_id")
    known = set(seen)
    for target, text in contract.derived.items():
        key = f"derived.{target}"
        if target not in canonical:
            raise ContractError(
                file,
                key,
                f"unknown canonical column {target!r} for entity {contract.entity!r}{_suggest(target, canonical)}",
            )
        if target in seen:
            raise ContractError(file, key, f"{target!r} is both mapped from {seen[target]!r} and derived")
        try:
            parse_expression(text, known)
        except ExpressionError as exc:
            raise ContractError(file, key, str(exc)) from None
        known.add(target)  # later derived fields may use earlier ones


def load_contract(file: Path | str) -> SourceContract:
    file = Path(file)
    contract = load_yaml_model(file, SourceContract, ContractError)
    check_contract(contract, file)
    return contract


def load_contracts(folder: Path | str) -> list[SourceContract]:
    """Every `*.yml`/`*.yaml` in `folder`, validated; source names must be unique per entity."""
    folder = Path(folder)
    files = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])
    if not files:
        raise ContractError(folder, "", "no source contracts (*.yml) found")
    contracts, owners = [], {}
    for file in files:
        contract = load_contract(file)
        owner = owners.get((contract.source, contract.entity))
        if owner:
            raise ContractError(
                file, "source", f"{contract.source!r} for {contract.entity} is already declared in {owner}"
            )
        owners[(contract.source, contract.entity)] = file
        contracts.append(contract)
    return contracts
