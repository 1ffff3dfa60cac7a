"""crmgrade.yml `identity`: which identifiers link, how Splink matches, survivorship, the increment and the pairs
kept apart (pipeline/config.py composes every stage's block)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from pipeline.contracts.schema import IDENTIFIERS
from pipeline.identity.attributes import COMPARISON_NAMES, PROFILE_COLUMNS
from pipeline.identity.key_format import is_customer_key
from pipeline.validated_yaml import StrictModel

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
            if not is_customer_key(key):
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
