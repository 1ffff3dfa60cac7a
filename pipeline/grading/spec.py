"""`grading.yml`: how customers are scored and graded, validated, then written to the `grading_spec` schema.

The dbt models read the spec as data (tables), so no SQL is assembled from the file: a value in grading.yml
can only ever be a number, a label or a name checked against a fixed list. See docs/grading.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
import yaml
from pydantic import Field, field_validator, model_validator

from pipeline.paths import DBT_PROJECT_FILE
from pipeline.validated_yaml import StrictModel, YamlFileError, load_yaml_model, parse_yaml_model
from pipeline.warehouse_tables import replace_tables

SCALE = 5  # every dimension scores 1..5: quintiles, or four thresholds
RFM = ("recency", "frequency", "monetary")


def _dbt_var(name: str) -> list[str]:
    """A list var of dbt_project.yml: the models and this validator read the same list."""
    project = yaml.safe_load(DBT_PROJECT_FILE.read_text(encoding="utf-8"))
    return list(project["vars"][name])


def gradeable_indicators() -> list[str]:
    """fct_customer columns a dimension may score (var `gradeable_indicators`)."""
    return _dbt_var("gradeable_indicators")


def profile_attributes() -> list[str]:
    """fct_customer columns a profile can match on (var `profile_attributes`)."""
    return _dbt_var("profile_attributes")


class GradingError(YamlFileError):
    pass


class Scoring(StrictModel):
    method: Literal["quantile", "thresholds"] = "quantile"
    thresholds: list[float] | None = Field(
        default=None, description=f"{SCALE - 1} ascending cut points, for method thresholds."
    )
    exclude_highest_share: float = Field(
        default=0,
        ge=0,
        lt=0.5,
        description="method quantile: the customers holding the highest values, up to this share of the profile's "
        "customers (ties all in or all out), are left out when the cut points are computed, and still scored "
        "against them (e.g. 0.001: the top 0.1% of spend does not stretch the quintiles).",
    )

    @model_validator(mode="after")
    def _thresholds(self) -> Scoring:
        if self.method == "thresholds":
            t = self.thresholds or []
            if len(t) != SCALE - 1 or any(b <= a for a, b in zip(t, t[1:], strict=False)):
                raise ValueError(f"method thresholds needs {SCALE - 1} strictly ascending thresholds, got {t}")
        elif self.thresholds is not None:
            raise ValueError("thresholds are only read with method: thresholds")
        if self.method == "thresholds" and self.exclude_highest_share:
            raise ValueError("exclude_highest_share is only read with method: quantile")
        return self


class Cadence(StrictModel):
    """Recency judged against the customer's own rhythm: days since the last purchase divided by the customer's
    typical gap between purchases (0.33: a third of the usual wait has passed; 2: twice the usual wait), so a
    dealer buying yearly is not lapsed after 90 days."""

    min_gaps: int = Field(
        default=2,
        ge=1,
        description="The customer's own typical gap (the median gap between purchase days in the look-back window) "
        "counts from this many gaps; a customer with fewer is judged against default_gap_days.",
    )
    default_gap_days: float = Field(gt=0, description="Typical gap of a customer with too few gaps of their own.")


class Dimension(StrictModel):
    """An indicator scored 1..5 and weighted into the customer's score."""

    indicator: str | None = Field(default=None, description="fct_customer column (extra dimensions only).")
    higher_is_better: bool = True
    cadence: Cadence | None = Field(
        default=None, description="recency only: score days since the last purchase / the typical gap instead of days."
    )
    scoring: Scoring = Scoring()
    weight: float = Field(default=1.0, ge=0)


class Grade(StrictModel):
    grade: str = Field(min_length=1, max_length=20)
    label: str = ""
    min_score: float = Field(ge=0, le=SCALE)


class Segments(StrictModel):
    split: Literal["average", "score"] = Field(
        default="average",
        description="R/F/M high or low for the 8 segments: against the profile's average value, or score >= min_score.",
    )
    min_score: int = Field(default=3, ge=1, le=SCALE)


class Overrides(StrictModel):
    """What a profile changes for the customers it applies to."""

    lookback_days: int | None = Field(default=None, ge=1)
    churn_after_days: int | None = Field(default=None, ge=1)
    dimensions: dict[str, Dimension] = {}
    grades: list[Grade] | None = None


class Profile(Overrides):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    match: dict[str, list[str]] = Field(min_length=1, description="attribute -> values; any value matches")

    @field_validator("match")
    @classmethod
    def _attributes(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        allowed = profile_attributes()
        for attribute in value:
            if attribute not in allowed:
                raise ValueError(f"cannot match on {attribute!r}; one of {', '.join(allowed)}")
        return value


class ChurnRisk(StrictModel):
    """Bands of P(no purchase within window_days), from the BG/NBD fit."""

    window_days: int = Field(default=365, ge=1, le=3650)
    high_from: float = Field(default=0.8, gt=0, lt=1, description="P(no purchase) from which the risk is high.")
    medium_from: float = Field(default=0.5, gt=0, lt=1, description="P(no purchase) from which the risk is medium.")

    @model_validator(mode="after")
    def _order(self) -> ChurnRisk:
        if self.medium_from >= self.high_from:
            raise ValueError("churn_risk: medium_from must be below high_from")
        return self


class ClvSettings(StrictModel):
    """Predicted value: BG/NBD + Gamma-Gamma fitted per profile (pipeline/grading/clv.py)."""

    time_unit: Literal["day", "week", "month"] = Field(default="week", description="Unit of t_x, T and the fit.")
    horizon_months: int = Field(default=12, ge=1, le=120, description="CLV and expected purchases over this horizon.")
    annual_discount_rate: float = Field(default=0.10, ge=0, le=1)
    min_repeat_customers: int = Field(
        default=100, ge=10, description="A profile with fewer repeat customers uses the fit over all customers."
    )
    fit_sample_customers: int | None = Field(
        default=200_000,
        ge=100,
        description="Fit each model on at most this many customers drawn at random (the same draw for the same "
        "customers); every customer is still predicted. The parameters' error shrinks as 1/sqrt(n), so beyond a "
        "few hundred thousand customers a bigger fit costs time without changing the predictions. null: all.",
    )
    refit_every_days: int = Field(
        default=7,
        ge=0,
        le=366,
        description="Refit the models when the last fit is this many days older than the as-of date (or the spec "
        "or the profiles changed); in between, every customer is predicted daily with the last fit's parameters. "
        "A fit costs ~18 s at 200,000 customers; the parameters of a population move little in a week. 0: refit "
        "on every run.",
    )
    churn_risk: ChurnRisk = ChurnRisk()


class Recommendations(StrictModel):
    """Products to offer: co-purchase lift within the customer's segment (marts.customer_recommendations)."""

    per_customer: int = Field(default=3, ge=1, le=20, description="Products recommended per customer.")
    min_pair_customers: int = Field(
        default=5, ge=1, description="A pair counts when at least this many customers of the segment bought both."
    )
    min_lift: float = Field(default=1.0, ge=0, description="A co-purchase recommendation needs a lift above this.")
    min_confidence: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="A co-purchase pair needs at least this share of the buyers of the product bought to have "
        "bought the candidate too (P(b | a)): a high lift on a handful of buyers is noise.",
    )
    candidates_per_product: int = Field(
        default=20,
        ge=1,
        le=1000,
        description="Of the pairs that pass the floors, the products of highest lift kept per bought product and "
        "segment: what bounds the customer join by the catalogue's size.",
    )
    basket_products: int = Field(
        default=50,
        ge=1,
        le=10000,
        description="Products per customer that count as its basket (its most recently bought): pairs are "
        "counted and reasons found on these only, so a wholesaler with thousands of codes costs what a retail "
        "customer does. Offers still skip every product the customer ever bought.",
    )


class GradingSpec(StrictModel):
    currency: str = Field(
        default="CNY",
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 code of the amounts graded and of every money threshold here; orders in another "
        "currency are quarantined (rule currency__to_be_in_set), never summed with these.",
    )
    lookback_days: int = Field(default=730, ge=1, description="Frequency and monetary count this many days.")
    churn_after_days: int = Field(
        default=365,
        ge=1,
        description="A graded customer whose last purchase is more than this many days before the as-of date "
        "counts as churned in the KPIs (grade_summary.churn_rate); a profile of rare purchases sets its own.",
    )
    purchase_statuses: list[Literal["completed", "partially_refunded", "refunded", "cancelled"]] = Field(
        default=["completed", "partially_refunded"], min_length=1
    )
    monetary: Literal["net", "gross"] = Field(default="net", description="Net of refunds, or gross.")
    return_window_days: int = Field(
        default=0,
        ge=0,
        le=366,
        description="Days after a purchase during which it can still be refunded: the net value of purchases this "
        "recent is provisional (it can still fall), and is shown apart (customer_grades.monetary_net_provisional).",
    )
    dimensions: dict[str, Dimension] = Field(
        default_factory=lambda: {
            "recency": Dimension(higher_is_better=False),
            "frequency": Dimension(),
            "monetary": Dimension(),
        }
    )
    grades: list[Grade] = Field(min_length=1)
    segments: Segments = Segments()
    profiles: list[Profile] = []
    clv: ClvSettings = ClvSettings()
    recommendations: Recommendations = Recommendations()

    @model_validator(mode="after")
    def _check(self) -> GradingSpec:
        _check_dimensions(self.dimensions, "dimensions", require_rfm=True)
        _check_grades(self.grades, "grades")
        names = [p.name for p in self.profiles]
        if "default" in names or len(set(names)) != len(names):
            raise ValueError("profile names must be unique and not 'default'")
        for p in self.profiles:
            unknown = set(p.dimensions) - set(self.dimensions)
            if unknown:
                raise ValueError(f"profile {p.name}: dimensions {sorted(unknown)} are not in the top-level dimensions")
            if p.grades is not None:
                _check_grades(p.grades, f"profile {p.name}: grades")
        return self

    def churn_after_days_by_profile(self) -> dict[str, int]:
        """Per profile ('default' first): the days without a purchase after which a customer counts as churned."""
        return {"default": self.churn_after_days} | {
            p.name: p.churn_after_days or self.churn_after_days for p in self.profiles
        }

    def resolved(self) -> dict[str, tuple[int, dict[str, Dimension], list[Grade]]]:
        """Per profile ('default' first): lookback, full dimension set, grades."""
        out = {"default": (self.lookback_days, self.dimensions, self.grades)}
        for p in self.profiles:
            dims = {name: p.dimensions.get(name, d) for name, d in self.dimensions.items()}
            out[p.name] = (p.lookback_days or self.lookback_days, dims, p.grades or self.grades)
        return out


def _check_dimensions(dimensions: dict[str, Dimension], where: str, require_rfm: bool) -> None:
    missing = [d for d in RFM if d not in dimensions]
    if require_rfm and missing:
        raise ValueError(f"{where}: {', '.join(missing)} missing; recency, frequency and monetary are required")
    allowed = gradeable_indicators()
    for name, d in dimensions.items():
        if d.cadence is not None and name != "recency":
            raise ValueError(f"{where}.{name}: only recency can be judged by cadence")
        if name in RFM:
            if d.indicator is not None:
                raise ValueError(f"{where}.{name}: recency, frequency and monetary take no indicator")
        elif d.indicator not in allowed:
            raise ValueError(
                f"{where}.{name}: indicator {d.indicator!r} is not a gradeable fct_customer column "
                f"(one of {', '.join(allowed)})"
            )
    if sum(d.weight for d in dimensions.values()) <= 0:
        raise ValueError(f"{where}: the weights add up to 0")


def _check_grades(grades: list[Grade], where: str) -> None:
    cuts = [g.min_score for g in grades]
    if cuts != sorted(cuts, reverse=True) or len(set(cuts)) != len(cuts):
        raise ValueError(f"{where}: list grades from the best, with strictly decreasing min_score")
    if cuts[-1] != 0:
        raise ValueError(f"{where}: the last grade needs min_score 0, so every customer gets a grade")
    if len({g.grade for g in grades}) != len(grades):
        raise ValueError(f"{where}: a grade is listed twice")


def load_grading_spec(file: Path) -> GradingSpec:
    return load_yaml_model(file, GradingSpec, GradingError, not_found="grading spec not found")


def parse_grading_spec(text: str, where: str) -> GradingSpec:
    """A grading.yml's text (a recorded version's, say); errors name `where`."""
    return parse_yaml_model(text, where, GradingSpec, GradingError)


def spec_tables(spec: GradingSpec, version: str) -> dict[str, pa.Table]:
    """The spec as the tables dbt reads (schema grading_spec); `version` names it (pipeline/grading/versions.py)."""
    profiles, matches, dims, thresholds, grades = [], [], [], [], []
    churn_after = spec.churn_after_days_by_profile()
    for priority, (name, (lookback, dimensions, grade_list)) in enumerate(spec.resolved().items()):
        profiles.append(
            {"profile": name, "priority": priority, "lookback_days": lookback, "churn_after_days": churn_after[name]}
        )
        for dim, d in dimensions.items():
            dims.append(
                {
                    "profile": name,
                    "dimension": dim,
                    # recency by cadence scores another value of the customer's (int_grading__recency)
                    "indicator": "recency_cadence" if d.cadence else d.indicator or dim,
                    "method": d.scoring.method,
                    "higher_is_better": d.higher_is_better,
                    "weight": d.weight,
                    "exclude_highest_share": d.scoring.exclude_highest_share,
                    "cadence_min_gaps": d.cadence.min_gaps if d.cadence else None,
                    "cadence_default_gap_days": d.cadence.default_gap_days if d.cadence else None,
                }
            )
            for position, t in enumerate(d.scoring.thresholds or [], start=1):
                thresholds.append({"profile": name, "dimension": dim, "position": position, "threshold": t})
        for rank, g in enumerate(grade_list, start=1):
            grades.append(
                {"profile": name, "grade": g.grade, "label": g.label, "min_score": g.min_score, "grade_rank": rank}
            )
    for p in spec.profiles:
        for attribute, values in p.match.items():
            matches += [{"profile": p.name, "attribute": attribute, "value": v} for v in values]
    # the scalar settings as one typed row: the models cross join it, nothing to pivot or cast
    settings = [
        {
            "spec_version": version,
            "purchase_statuses": list(spec.purchase_statuses),
            "monetary_basis": spec.monetary,
            "return_window_days": spec.return_window_days,
            "segment_split": spec.segments.split,
            "segment_min_score": spec.segments.min_score,
            "recommendations_per_customer": spec.recommendations.per_customer,
            "recommendation_min_pair_customers": spec.recommendations.min_pair_customers,
            "recommendation_min_lift": spec.recommendations.min_lift,
            "recommendation_min_confidence": spec.recommendations.min_confidence,
            "recommendation_candidates_per_product": spec.recommendations.candidates_per_product,
            "recommendation_basket_products": spec.recommendations.basket_products,
            "currency": spec.currency,
        }
    ]
    schemas = {
        "profiles": pa.schema(
            [
                ("profile", pa.string()),
                ("priority", pa.int32()),
                ("lookback_days", pa.int32()),
                ("churn_after_days", pa.int32()),
            ]
        ),
        "profile_matches": pa.schema([("profile", pa.string()), ("attribute", pa.string()), ("value", pa.string())]),
        "dimensions": pa.schema(
            [
                ("profile", pa.string()),
                ("dimension", pa.string()),
                ("indicator", pa.string()),
                ("method", pa.string()),
                ("higher_is_better", pa.bool_()),
                ("weight", pa.float64()),
                ("exclude_highest_share", pa.float64()),
                ("cadence_min_gaps", pa.int32()),
                ("cadence_default_gap_days", pa.float64()),
            ]
        ),
        "thresholds": pa.schema(
            [
                ("profile", pa.string()),
                ("dimension", pa.string()),
                ("position", pa.int32()),
                ("threshold", pa.float64()),
            ]
        ),
        "grades": pa.schema(
            [
                ("profile", pa.string()),
                ("grade", pa.string()),
                ("label", pa.string()),
                ("min_score", pa.float64()),
                ("grade_rank", pa.int32()),
            ]
        ),
        "settings": pa.schema(
            [
                ("spec_version", pa.string()),
                ("purchase_statuses", pa.list_(pa.string())),
                ("monetary_basis", pa.string()),
                ("return_window_days", pa.int32()),
                ("segment_split", pa.string()),
                ("segment_min_score", pa.int32()),
                ("recommendations_per_customer", pa.int32()),
                ("recommendation_min_pair_customers", pa.int32()),
                ("recommendation_min_lift", pa.float64()),
                ("recommendation_min_confidence", pa.float64()),
                ("recommendation_candidates_per_product", pa.int32()),
                ("recommendation_basket_products", pa.int32()),
                ("currency", pa.string()),
            ]
        ),
    }
    rows = {
        "profiles": profiles,
        "profile_matches": matches,
        "dimensions": dims,
        "thresholds": thresholds,
        "grades": grades,
        "settings": settings,
    }
    return {name: pa.Table.from_pylist(rows[name], schema=schema) for name, schema in schemas.items()}


def write_spec(con: duckdb.DuckDBPyConnection, spec: GradingSpec, version: str) -> None:
    """Replace the spec tables of schema grading_spec in one transaction (the version's text is kept in
    grading_spec.versions, pipeline/grading/versions.py; a variant's spec goes to its own schema, variant.py)."""
    replace_tables(con, "grading_spec", spec_tables(spec, version))
