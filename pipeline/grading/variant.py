"""A grading variant: the grading models built a second time under another spec version, beside the live ones.

The dbt models tagged `spec_graded` (the spec's staging, intermediate/grading, customer_grades) are built with the
var `grading_variant: <name>`: they read the spec from schema grading_spec_<name> and are written to
<name>_staging, <name>_intermediate and <name>_marts (dbt_project/macros/generate_schema_name.sql); the live
marts and what BI reads are untouched. Two variants use it: `shadow` (a candidate spec every run, shadow.py) and
`regrade` (a past day under any recorded version, regrade.py).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from contextlib import AbstractContextManager

import duckdb
import polars as pl

from pipeline.grading.spec import GradingSpec, parse_grading_spec, spec_tables
from pipeline.grading.versions import SpecVersion
from pipeline.warehouse_schemas import spec_schema_of
from pipeline.warehouse_tables import replace_tables, transaction

# what a day's grading decided, as history.grade_history keeps it (its CLV columns are the CLV model's, not graded)
GRADED_COLUMNS = (
    "customer_key",
    "profile",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "rfm_code",
    "weighted_score",
    "grade",
    "grade_label",
    "segment_cn",
    "segment_en",
    "spec_version",
    "recency_method",
    "typical_gap_days",
)
GRADED_SELECT = ", ".join(GRADED_COLUMNS)  # the list as a select list
# every variant's grades of a day, one slice per day and spec version: typed as the served history is
VARIANT_GRADES_DDL = f"""create schema if not exists evaluation;
    create table if not exists evaluation.variant_grades as
    select as_of_date, {GRADED_SELECT}, 'regrade' as variant, inputs_as_of, current_timestamp as recorded_at
    from history.grade_history with no data"""
# the models a variant builds: the live grades' ancestors that read the spec (dbt node selection)
DBT_SELECTION = "+customer_grades,tag:spec_graded"
# the segment maps customer_grades reads (macros/grading_input.sql spec_seed): a version's own
GRADED_SEEDS = ("rfm_segments_cn", "rfm_segments_en")


def grades_table(variant: str) -> str:
    return f"{variant}_marts.customer_grades"


def dbt_build_args(variant: str, dbt_vars: dict) -> list[str]:
    """`dbt build` of a variant's models. Its data tests run on what it builds; a test reading a model it does
    not build (a relationship to today's fct_customer, say) is left out (cautious): a past day's customers need
    not all be there today. Run by the dbt bridge (pipeline/defs/dbt/project.py build_variant)."""
    return [
        "build",
        "--select",
        DBT_SELECTION,
        "--indirect-selection",
        "cautious",
        "--vars",
        json.dumps({**dbt_vars, "grading_variant": variant}),
    ]


def write_variant_spec(con: duckdb.DuckDBPyConnection, variant: str, version: SpecVersion, where: str) -> GradingSpec:
    """Write a version's grading.yml as the spec tables of the variant and its segment maps beside them, typed as
    the live seeds are (reference.<seed>, built by every run's dbt seed), in one transaction."""
    spec = parse_grading_spec(version.files["grading.yml"], where)
    tables = dict(spec_tables(spec, version.version))
    for seed in GRADED_SEEDS:
        live = con.sql(f"select * from reference.{seed} limit 0").pl().schema
        text = version.files[f"{seed}.csv"]
        header = pl.read_csv(io.StringIO(text), n_rows=0).columns
        tables[seed] = pl.read_csv(
            io.StringIO(text), schema_overrides={c: live[c] for c in header if c in live}, infer_schema=False
        )
    replace_tables(con, spec_schema_of(variant), tables)
    return spec


def grade_variant(
    connect: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]],
    build: Callable[[list[str]], None],
    variant: str,
    version: SpecVersion,
    where: str,
    dbt_vars: dict,
) -> GradingSpec:
    """Grade as `variant` under a spec version: its spec tables written (one connection, closed before dbt opens
    the warehouse), then its models built by `build` (dbt, with these args). The one sequence shadow grading
    (pipeline/defs/assets/grading.py) and regrading (pipeline/runs/regrade.py) share; each keeps the grades its
    own way after."""
    with connect() as con:
        spec = write_variant_spec(con, variant, version, where)
    build(dbt_build_args(variant, dbt_vars))
    return spec


def keep_variant_grades(con: duckdb.DuckDBPyConnection, variant: str, as_of_date, inputs_as_of) -> str:
    """Copy the variant's grades into evaluation.variant_grades, replacing the day's slice for their spec version;
    returns that version. Whichever variant graded a (day, version) last holds it: from the same inputs both give
    the same grades."""
    con.execute(VARIANT_GRADES_DDL)
    versions = con.execute(f"select distinct spec_version from {grades_table(variant)}").fetchall()
    if len(versions) != 1:
        raise ValueError(f"{grades_table(variant)} holds {len(versions)} spec versions, not one")
    version = versions[0][0]
    with transaction(con):
        con.execute(
            "delete from evaluation.variant_grades where as_of_date = ? and spec_version = ?", [as_of_date, version]
        )
        con.execute(
            f"""insert into evaluation.variant_grades
            select ?, {GRADED_SELECT}, ?, ?, current_timestamp from {grades_table(variant)}""",
            [as_of_date, variant, inputs_as_of],
        )
    return version
