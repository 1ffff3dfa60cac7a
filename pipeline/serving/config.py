"""crmgrade.yml `serving`: the serving copy BI tools read (pipeline/config.py composes every stage's block)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from pipeline.serving.masking import PERSONAL_COLUMNS
from pipeline.validated_yaml import StrictModel


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
        unknown = sorted(set(value) - set(PERSONAL_COLUMNS))
        if unknown:
            raise ValueError(f"{unknown} are not masked bi columns; these are: {sorted(PERSONAL_COLUMNS)}")
        return value
