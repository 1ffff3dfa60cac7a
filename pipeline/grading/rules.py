"""`rules.yml`: tags from conditions over the customer fact table, e.g. `lifetime_monetary > 10000 -> high_value`,
and the actions taken when a customer enters or leaves a rule's tag, a grade or a segment (pipeline/activation).

A condition is parsed by Polars' SQL expression parser (pipeline/contracts/expressions.py) and evaluated by
Polars on the fact table: it never becomes SQL text run against the warehouse, statements and subqueries are
rejected, and every column it names must exist. It is type-checked against the table's schema before any
rule runs, so a wrong rule stops the run with its name, not halfway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.contracts.expressions import ExpressionError, parse_expression
from pipeline.validated_yaml import YamlFileError, load_yaml_model


class RulesError(YamlFileError):
    pass


Event = Literal["enter", "exit"]


class Destination(BaseModel):
    """Where the changes of memberships go: one file per run under <outbox_dir>/<destination>/."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["csv", "parquet", "jsonl"] = Field(
        description="csv or parquet: a CRM import, one row per change; jsonl: one webhook payload per line."
    )
    description: str = ""


class Action(BaseModel):
    """What to do when a customer enters or leaves a membership (a rule's tag, a grade, a segment)."""

    model_config = ConfigDict(extra="forbid")

    destination: str
    do: str = Field(min_length=1, max_length=200, description="The instruction, e.g. 分配到高价值客户组.")
    # not `on`: YAML 1.1 reads that key as true
    events: list[Event] = Field(default=["enter", "exit"], min_length=1, description="Which changes to send.")


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    when: str = Field(min_length=1, description="A condition over marts.fct_customer and customer_grades columns.")
    tag: str = Field(min_length=1, max_length=100)
    group: str | None = Field(default=None, max_length=100)
    description: str = ""
    actions: list[Action] = []


GRADE_MEMBERSHIPS = ("grade", "segment_cn", "segment_en")  # the customer_grades columns an action can watch


class GradeAction(Action):
    """An action on a grade or segment of customer_grades: exactly one of grade, segment_cn, segment_en."""

    grade: str | None = None
    segment_cn: str | None = None
    segment_en: str | None = None

    def _named(self) -> list[str]:
        return [k for k in GRADE_MEMBERSHIPS if getattr(self, k) is not None]

    @model_validator(mode="after")
    def _one_membership(self) -> GradeAction:
        named = self._named()
        if len(named) != 1:
            raise ValueError(f"name exactly one of {', '.join(GRADE_MEMBERSHIPS)} (got {named or 'none'})")
        return self

    @property
    def membership(self) -> tuple[str, str]:
        [kind] = self._named()
        return kind, getattr(self, kind)


class RulesSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    destinations: dict[str, Destination] = {}
    rules: list[Rule] = []
    grade_actions: list[GradeAction] = []

    @field_validator("rules")
    @classmethod
    def _unique(cls, rules: list[Rule]) -> list[Rule]:
        names = [r.name for r in rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rule names must be unique: {', '.join(dupes)}")
        return rules

    @field_validator("destinations")
    @classmethod
    def _destination_names(cls, destinations: dict[str, Destination]) -> dict[str, Destination]:
        bad = sorted(n for n in destinations if not re.fullmatch(r"[a-z][a-z0-9_]*", n))
        if bad:
            raise ValueError(f"destination names are folder names, lowercase letters, digits and _: {bad}")
        return destinations

    @model_validator(mode="after")
    def _declared_destinations(self) -> RulesSpec:
        used = [a.destination for r in self.rules for a in r.actions] + [a.destination for a in self.grade_actions]
        unknown = sorted(set(used) - set(self.destinations))
        if unknown:
            declared = ", ".join(sorted(self.destinations)) or "none"
            raise ValueError(f"actions name undeclared destination(s) {unknown}; destinations: {declared}")
        return self


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    expr: pl.Expr


def load_rules(file: Path) -> RulesSpec:
    return load_yaml_model(file, RulesSpec, RulesError, not_found="rules file not found")


# fct_customer's lifetime measures, renamed in 2026-12 so that they are not taken for the grades' window measures
RENAMED_COLUMNS = {
    "frequency": "lifetime_frequency",
    "monetary": "lifetime_monetary",
    "monetary_gross": "lifetime_monetary_gross",
}


def _renamed_hint(message: str, schema: pl.Schema) -> str:
    """For a rule written before the rename: which name the column has now."""
    renamed = [
        f"{old} is {new} (the whole history; customer_grades.{old} counts the grading window)"
        for old, new in RENAMED_COLUMNS.items()
        if f"'{old}'" in message.split("known columns")[0] and new in schema.names()
    ]
    return f". {'; '.join(renamed)}" if renamed else ""


def compile_rules(file: Path, spec: RulesSpec, schema: pl.Schema) -> list[CompiledRule]:
    """Parse and type-check every rule against `schema`; the first bad rule raises RulesError naming it."""
    empty = pl.DataFrame(schema=schema)
    compiled = []
    for i, rule in enumerate(spec.rules):
        where = f"rules.{i}.when (rule {rule.name!r})"
        try:
            expr = parse_expression(rule.when, set(schema.names()))
        except ExpressionError as exc:
            raise RulesError(file, where, str(exc) + _renamed_hint(str(exc), schema)) from None
        try:
            dtype = empty.select(expr.alias("matches")).schema["matches"]
        except Exception as exc:  # Polars raises one of several errors for a type mismatch
            first_line = str(exc).strip().splitlines()[0]
            raise RulesError(file, where, f"{rule.when!r} does not type-check: {first_line}") from None
        if dtype != pl.Boolean:
            raise RulesError(file, where, f"{rule.when!r} is {dtype}, not a true/false condition")
        compiled.append(CompiledRule(rule, expr))
    return compiled


def apply_rules(file: Path, customers: pl.DataFrame, compiled: list[CompiledRule]) -> pl.DataFrame:
    """(customer_key, tag, tag_group, rule, as_of_date): one row per customer a rule's condition holds for.

    A condition that is null for a customer (a missing value) does not hold.
    """
    parts = []
    for c in compiled:
        try:
            hits = customers.filter(c.expr.fill_null(False))
        except Exception as exc:
            first_line = str(exc).strip().splitlines()[0]
            raise RulesError(file, f"rule {c.rule.name!r}", f"failed on the data: {first_line}") from None
        parts.append(
            hits.select(
                "customer_key",
                pl.lit(c.rule.tag).alias("tag"),
                pl.lit(c.rule.group, dtype=pl.String).alias("tag_group"),
                pl.lit(c.rule.name).alias("rule"),
                "as_of_date",
            )
        )
    if not parts:
        return pl.DataFrame(
            schema={
                "customer_key": pl.String,
                "tag": pl.String,
                "tag_group": pl.String,
                "rule": pl.String,
                "as_of_date": pl.Date,
            }
        )
    return pl.concat(parts)
