"""Which customers are in each membership an action watches: a rule's tag (tags.customer_tags), a grade or a
segment (marts.customer_grades). A membership is named `<kind>:<value>`: `rule:high_value`, `grade:A`,
`segment_cn:重要挽留客户`."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from pipeline.grading.rules import RulesSpec

# kind -> (table, column): the only columns a membership reads, never a name taken from the file
SOURCES = {
    "rule": ("tags.customer_tags", "rule"),
    "grade": ("marts.customer_grades", "grade"),
    "segment_cn": ("marts.customer_grades", "segment_cn"),
    "segment_en": ("marts.customer_grades", "segment_en"),
}
SCHEMA = {"membership": pl.String, "customer_key": pl.String}


@dataclass(frozen=True)
class PlannedAction:
    kind: str
    value: str
    destination: str
    do: str
    events: tuple[str, ...]

    @property
    def membership(self) -> str:
        return f"{self.kind}:{self.value}"


def planned_actions(spec: RulesSpec) -> list[PlannedAction]:
    """Every action of rules.yml: the rules' (on their tag) and grade_actions (on a grade or segment)."""
    actions = [
        PlannedAction("rule", rule.name, a.destination, a.do, tuple(a.events))
        for rule in spec.rules
        for a in rule.actions
    ]
    for a in spec.grade_actions:
        kind, value = a.membership
        actions.append(PlannedAction(kind, value, a.destination, a.do, tuple(a.events)))
    return actions


def current_memberships(con: duckdb.DuckDBPyConnection, actions: list[PlannedAction]) -> pl.DataFrame:
    """(membership, customer_key), one row per customer in each membership an action watches, today."""
    parts = []
    for kind, (table, column) in SOURCES.items():
        values = sorted({a.value for a in actions if a.kind == kind})
        if values:
            parts.append(
                con.sql(
                    f"""select distinct '{kind}:' || {column} as membership, customer_key from {table}
                    where {column} in (select unnest(?)) and customer_key is not null""",
                    params=[values],
                ).pl()
            )
    return pl.concat(parts) if parts else pl.DataFrame(schema=SCHEMA)


def unknown_values(con: duckdb.DuckDBPyConnection, actions: list[PlannedAction], grades: list[str]) -> list[str]:
    """Grades and segments an action names that grading cannot give (a typo would watch an empty membership)."""
    known = {
        "grade": set(grades),
        "segment_cn": {
            r[0] for r in con.execute("select distinct segment_cn from reference.rfm_segments_cn").fetchall()
        },
        "segment_en": {
            r[0] for r in con.execute("select distinct segment_en from reference.rfm_segments_en").fetchall()
        },
    }
    return sorted(
        f"{a.kind} {a.value!r} (known: {', '.join(sorted(known[a.kind]))})"
        for a in actions
        if a.kind in known and a.value not in known[a.kind]
    )
