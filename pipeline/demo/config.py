"""crmgrade.yml `demo`: the demo data a run generates when its folder is missing (pipeline/config.py composes
every stage's block)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from pipeline.validated_yaml import StrictModel


class DemoConfig(StrictModel):
    dir: Path = Field(
        default=Path("data/demo"),
        description="The only folder the demo data is generated into, when it is missing and is sources.root: "
        "a mistyped sources.root is an error, not 20,000 made-up customers graded as if they were yours.",
    )
    customers: int = Field(default=20_000, ge=10)
    seed: int = 42
    orders: int | None = Field(default=None, ge=1)
