"""The warehouse's schemas, the one list: what each holds, and whether rows in it are about one person.

The Dagster asset groups are these names (pipeline/defs/build.py puts every asset in the group of its key's
schema); erasure deletes a person's rows from the schemas that hold them (pipeline/privacy/erasure.py). A grading
variant (shadow, regrade: pipeline/grading/variant.py) builds its own copies of the layers named in
VARIANT_LAYERS, as <variant>_<layer>, and reads its spec from grading_spec_<variant>.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Schema:
    name: str
    holds: str
    # Rows keyed by customer_key or by a record's lineage (source_name, source_file, source_row_number) that
    # erasure deletes. raw is erased by its own lineage columns, dq by its own rules; views hold no rows.
    erased_by_key: bool = False


SCHEMAS: tuple[Schema, ...] = (
    Schema("raw", "one table per entity: the source rows as delivered, in canonical columns, with their lineage"),
    Schema("dq", "deliveries, reconciliation, quarantine, validation results, column profiles, duplicates"),
    Schema("identity", "the identity graph: records, links, customer keys, merges, the match model", True),
    Schema("reference", "dbt seeds: the region map, segment names, segment actions"),
    Schema("grading_spec", "the grading spec as tables, and every version of it (dbt reads the live one)"),
    Schema("staging", "dbt views: the raw tables renamed and cast"),
    Schema("intermediate", "dbt: per-customer aggregates as of the day", True),
    Schema("marts", "dbt: the customer fact table, grades, segments, recommendations", True),
    Schema("history", "dbt: grades, KPIs, cut points and recommendations of every graded day", True),
    Schema("clv", "the CLV models' parameters and predictions", True),
    Schema("tags", "the tags of rules.yml, per customer and rule (Python, read by dbt as a source)", True),
    Schema("activation", "rules.yml actions: memberships as delivered, enter/exit events, outbox files", True),
    Schema("monitoring", "dbt: drift alerts, grade migrations, trends, campaign and membership effects", True),
    Schema("evaluation", "Python: the backtests, the spec backtest, the shadow comparison, variants' grades", True),
    Schema("bi", "dbt views: what BI tools read, published to the serving copy"),
    Schema("privacy", "the erasure audit"),
    Schema("serving", "the published serving copy (a Dagster group: its tables live in their own file)"),
    Schema("dbt_state", "the code fingerprint and increment mark of every incremental dbt model"),
    Schema("operations", "what each `crmgrade run` read, so a run with nothing new is skipped (run_inputs.py)"),
)
BY_NAME: dict[str, Schema] = {s.name: s for s in SCHEMAS}

VARIANTS = ("shadow", "regrade")
# The layers a grading variant builds a copy of (dbt_project/macros/generate_schema_name.sql).
VARIANT_LAYERS = ("staging", "intermediate", "marts")


def spec_schema_of(variant: str) -> str:
    """Where a grading variant reads its spec from."""
    return f"grading_spec_{variant}"


def variant_schemas() -> tuple[str, ...]:
    """Every schema a grading variant writes: its spec and its copies of the graded layers."""
    return tuple(
        schema
        for variant in VARIANTS
        for schema in (spec_schema_of(variant), *(f"{variant}_{layer}" for layer in VARIANT_LAYERS))
    )


def erased_by_key() -> tuple[str, ...]:
    """The schemas whose tables erasure deletes a person's rows from, by customer key or record lineage."""
    keyed = tuple(s.name for s in SCHEMAS if s.erased_by_key)
    return keyed + tuple(f"{v}_{layer}" for v in VARIANTS for layer in VARIANT_LAYERS if BY_NAME[layer].erased_by_key)


def is_known(schema: str) -> bool:
    return schema in BY_NAME or schema in variant_schemas()
