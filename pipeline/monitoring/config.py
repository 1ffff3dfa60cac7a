"""crmgrade.yml `monitoring`: drift thresholds, the backtest horizon, the campaign- and membership-effect windows
(pipeline/config.py composes every stage's block)."""

from __future__ import annotations

from pydantic import Field, model_validator

from pipeline.validated_yaml import StrictModel


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
    """evaluation.backtest_*: the grades of a past day against what its customers bought in the days after it."""

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
