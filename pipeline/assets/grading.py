"""The grading spec as Dagster assets (group `grading`): grading.yml validated and written for dbt."""

import hashlib

import dagster as dg

from pipeline.grading.rules import apply_rules, compile_rules, load_rules
from pipeline.grading.spec import load_grading_spec, spec_tables, write_spec
from pipeline.resources import CrmgradeSettings, DuckDBWarehouse

_TABLES = {
    "profiles": "Grading profiles in priority order ('default' first) with their look-back window.",
    "profile_matches": "Which attribute values put a customer in a profile.",
    "dimensions": "Per profile, each scored dimension: indicator, method, direction, weight.",
    "thresholds": "Per profile and dimension scored by thresholds, the four cut points.",
    "grades": "Per profile, the grades from the best with their minimum score.",
    "settings": "Purchase statuses, monetary basis, the segment split.",
}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["grading_spec", table], description=description, group_name="grading", kinds={"duckdb"})
        for table, description in _TABLES.items()
    ],
)
def grading_spec_assets(context: dg.AssetExecutionContext, settings: CrmgradeSettings, warehouse: DuckDBWarehouse):
    """grading.yml -> schema grading_spec (pipeline/grading/spec.py): the dbt grading models read it as data."""
    cfg = settings.load()
    text = cfg.grading.read_text(encoding="utf-8")
    spec = load_grading_spec(cfg.grading)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    with warehouse.connect() as con:
        write_spec(con, spec, text)
    for table, rows in spec_tables(spec).items():
        yield dg.MaterializeResult(
            asset_key=["grading_spec", table],
            metadata={"rows": rows.num_rows, "spec_file": str(cfg.grading), "spec_sha256": digest},
        )
    context.log.info(f"grading spec {cfg.grading} ({digest}) written")


TAG_COLUMNS = {
    "customer_key": "The customer (marts.dim_customer).",
    "tag": "The rule's tag (e.g. 高价值).",
    "tag_group": "The rule's group, if it names one.",
    "rule": "Name of the rule in rules.yml whose condition holds.",
    "as_of_date": "As-of date of the facts the condition was evaluated on.",
}


@dg.asset(
    key=["marts", "customer_tags"],
    metadata={
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, description=text) for name, text in TAG_COLUMNS.items()]
        )
    },
    group_name="grading",
    kinds={"duckdb", "polars"},
    deps=[dg.AssetKey(["marts", "fct_customer"]), dg.AssetKey(["marts", "customer_grades"])],
    description="Tags from rules.yml: one row per customer and rule whose condition holds (pipeline/grading/rules.py).",
)
def customer_tags(context: dg.AssetExecutionContext, settings: CrmgradeSettings, warehouse: DuckDBWarehouse):
    cfg = settings.load()
    spec = load_rules(cfg.rules)
    with warehouse.connect() as con:
        customers = con.sql(
            """select f.*, g.grade, g.grade_label, g.segment_cn, g.segment_en, g.weighted_score
            from marts.fct_customer f left join marts.customer_grades g using (customer_key)"""
        ).pl()
        # every rule is checked against the table before any is applied: a bad rule stops with its name
        compiled = compile_rules(cfg.rules, spec, customers.schema)
        tags = apply_rules(cfg.rules, customers, compiled)
        con.register("tag_rows", tags.to_arrow())
        con.execute(
            """create or replace table marts.customer_tags as
            select customer_key, tag, tag_group, rule, as_of_date from tag_rows order by rule, customer_key"""
        )
        con.unregister("tag_rows")
    counts = tags.group_by("rule").len().sort("rule").rows()
    return dg.MaterializeResult(
        metadata={
            "rows": tags.height,
            "rules": len(compiled),
            "customers_per_rule": dg.MetadataValue.md(
                "\n".join(["| rule | customers |", "|---|---:|", *(f"| {r} | {n:,} |" for r, n in counts)])
            ),
        }
    )
