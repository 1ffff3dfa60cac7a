"""crmgrade.yml `quality`: the limits every source is judged by, unless its contract sets its own (pipeline/config.py
composes every stage's block)."""

from __future__ import annotations

from pydantic import Field

from pipeline.validated_yaml import StrictModel


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
