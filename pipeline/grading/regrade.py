"""Regrading a past day: its grades computed again under any recorded spec version, from its inputs as they stood.

Every run snapshots what the grading reads (history.grading_input_orders, grading_input_customers: dbt snapshots,
dbt_project/snapshots/grading_inputs.yml) and stamps each graded day with the time those inputs stood at
(history.grade_history.inputs_as_of). A regrade is the grading variant `regrade` (variant.py) built with the
as-of date of the day and the var grading_inputs_at: the grading models then read the snapshots' versions valid
at that time (macros/grading_input.sql), whatever was corrected, merged or delivered since, under the spec
version's own files (grading_spec.versions). The grades are kept in evaluation.variant_grades, one slice per day
and version, beside the day's stored grades: the same version reproduces them; another shows what it would have
given. The grading code is today's: a version is the spec files, not the SQL. docs/grading.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from pipeline.grading.variant import GRADED_SELECT, grades_table, keep_variant_grades
from pipeline.grading.versions import SpecVersion, files_of

VARIANT = "regrade"
GRADES = grades_table(VARIANT)
# the days a regrade can take: graded, with their inputs' time kept
REGRADABLE_DAYS = """select distinct as_of_date from history.grade_history where inputs_as_of is not null
    order by as_of_date"""


class RegradeError(Exception):
    """A day that cannot be graded again (never graded, or graded before its inputs were kept), or an unknown
    version."""


@dataclass(frozen=True)
class RegradeDay:
    as_of_date: date
    spec: SpecVersion
    inputs_as_of: datetime  # the time the day's inputs stood at: the snapshots' versions valid then are read
    graded_under: str | None  # the version that graded the day (history.grade_history)


@dataclass(frozen=True)
class RegradeResult:
    day: RegradeDay
    customers: int
    stored_customers: int
    differing_rows: int  # customers whose regraded row differs from the stored one in any graded column
    moves: list[tuple[str, str, int]]  # (stored grade, regraded grade, customers) where they differ

    @property
    def reproduces(self) -> bool:
        return self.differing_rows == 0


def plan_day(con: duckdb.DuckDBPyConnection, as_of_date: date, version: str | None) -> RegradeDay:
    """The day's inputs time and the spec to grade it under (`version`, else the one that graded it)."""
    rows = con.execute(
        """select any_value(inputs_as_of), max(inputs_as_of) is null, any_value(spec_version)
        from history.grade_history where as_of_date = ? having count(*) > 0""",
        [as_of_date],
    ).fetchall()
    if not rows:
        graded = con.execute("select min(as_of_date), max(as_of_date) from history.grade_history").fetchone()
        known = f"graded days run from {graded[0]} to {graded[1]}" if graded and graded[0] else "no day is graded"
        raise RegradeError(f"{as_of_date} was never graded (history.grade_history: {known})")
    inputs_as_of, no_inputs, graded_under = rows[0]
    if no_inputs:
        raise RegradeError(
            f"{as_of_date} was graded before the grading's inputs were kept (history.grade_history.inputs_as_of is "
            "empty): its data as it stood then is not known, it cannot be graded again"
        )
    if version is None and graded_under is None:
        raise RegradeError(f"{as_of_date} was graded before spec versions were kept: name one with --spec")
    name = version or graded_under
    try:
        files = files_of(con, name)
    except LookupError as exc:
        raise RegradeError(str(exc)) from exc
    return RegradeDay(as_of_date, SpecVersion(name, files), inputs_as_of, graded_under)


def dbt_vars(day: RegradeDay, run_vars: dict) -> dict:
    """The run's dbt vars with the day's as-of date and inputs time (the variant name is dbt_build_args')."""
    return {**run_vars, "as_of_date": day.as_of_date.isoformat(), "grading_inputs_at": day.inputs_as_of.isoformat(" ")}


def record_regrade(con: duckdb.DuckDBPyConnection, day: RegradeDay) -> RegradeResult:
    """Keep the variant's grades in evaluation.variant_grades (replacing the day's slice for the version) and
    compare them with the stored grades of the day, column by column."""
    keep_variant_grades(con, VARIANT, day.as_of_date, day.inputs_as_of)
    regraded = (
        f"select {GRADED_SELECT} from evaluation.variant_grades where as_of_date = $day and spec_version = $version"
    )
    stored = f"select {GRADED_SELECT} from history.grade_history where as_of_date = $day"
    params = {"day": day.as_of_date, "version": day.spec.version}
    (customers,), (stored_customers,) = (
        con.execute(f"select count(*) from ({regraded})", params).fetchone(),
        con.execute(f"select count(*) from ({stored})", {"day": day.as_of_date}).fetchone(),
    )
    # a customer counts once however many columns differ, or when graded on one side only
    (differing,) = con.execute(
        f"""select count(distinct customer_key) from (
            (({regraded}) except all ({stored}))
            union all
            (({stored}) except all ({regraded}))
        )""",
        params,
    ).fetchone()
    moves = con.execute(
        f"""select coalesce(s.grade, '(none)'), coalesce(r.grade, '(none)'), count(*)
        from ({stored}) as s full join ({regraded}) as r using (customer_key)
        where s.grade is distinct from r.grade
        group by all order by 1, 2""",
        params,
    ).fetchall()
    return RegradeResult(day, customers, stored_customers, differing, [tuple(m) for m in moves])


def describe(result: RegradeResult) -> str:
    """One line on a regraded day: identical to its stored grades, or how it differs."""
    day = result.day
    head = f"{result.customers:,} customers graded under {day.spec.version}"
    if day.spec.version == day.graded_under:
        if result.reproduces:
            return f"{head}: identical to the {result.stored_customers:,} stored grades of {day.as_of_date}"
        return (
            f"{head}: {result.differing_rows:,} customer(s) differ from the stored grades of {day.as_of_date} under "
            "the same version (the grading code changed since?)"
        )
    moved = sum(n for _, _, n in result.moves)
    pairs = ", ".join(f"{old}->{new} {n:,}" for old, new, n in result.moves[:8])
    return (
        f"{head}; graded under {day.graded_under or 'no recorded version'} it had {result.stored_customers:,}: "
        f"{moved:,} get another grade{f' ({pairs})' if pairs else ''}"
    )
