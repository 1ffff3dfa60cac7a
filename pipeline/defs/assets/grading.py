"""The grading spec as Dagster assets (group `grading`): grading.yml validated and written for dbt."""

from datetime import UTC, datetime

import dagster as dg
import polars as pl
from dagster_dbt import DbtCliResource

from pipeline.defs.dbt.project import build_variant
from pipeline.defs.partitions import partitioned
from pipeline.defs.resources import CrmgradeSettings, DuckDBWarehouse
from pipeline.grading import shadow
from pipeline.grading.customer_value import no_customer_value, predict_customer_value
from pipeline.grading.rules import apply_rules, compile_rules, load_rules
from pipeline.grading.spec import load_grading_spec, parse_grading_spec, spec_tables, write_spec
from pipeline.grading.variant import grade_variant
from pipeline.grading.versions import record_version, spec_files, version_of
from pipeline.markdown import md_table
from pipeline.quality.explain import no_orders_delivered, why_nothing_graded
from pipeline.warehouse_tables import replace_tables, table_exists

_TABLES = {
    "profiles": "Grading profiles in priority order ('default' first) with their look-back window.",
    "profile_matches": "Which attribute values put a customer in a profile.",
    "dimensions": "Per profile, each scored dimension: indicator, method, direction, weight.",
    "thresholds": "Per profile and dimension scored by thresholds, the four cut points.",
    "grades": "Per profile, the grades from the best with their minimum score.",
    "settings": "The spec version, purchase statuses, monetary basis, the segment split.",
    "versions": "Every grading spec version a run has used, with the text of its files (append-only).",
}


@partitioned(
    dg.multi_asset,
    specs=[
        dg.AssetSpec(["grading_spec", table], description=description, kinds={"duckdb"})
        for table, description in _TABLES.items()
    ],
    # a selection upstream of int_orders takes grading_spec/settings alone (the purchase statuses); the tables are
    # written together all the same (one version), and the selected ones reported
    can_subset=True,
)
def grading_spec_assets(context: dg.AssetExecutionContext, settings: CrmgradeSettings, warehouse: DuckDBWarehouse):
    """grading.yml -> schema grading_spec (pipeline/grading/spec.py): the dbt grading models read it as data.
    The spec's version (grading.yml, rules.yml and the segment maps) is recorded with their text."""
    cfg = settings.load_for(context)
    version = version_of(spec_files(cfg.grading, cfg.rules))
    spec = parse_grading_spec(version.files["grading.yml"], str(cfg.grading))
    load_rules(cfg.rules)  # a broken rules.yml stops the run here, before a version is recorded for it
    with warehouse.connect() as con:
        # recorded first: the spec tables never name a version grading_spec.versions does not hold
        first = record_version(con, version, context.run_id, datetime.now(UTC).replace(tzinfo=None))
        write_spec(con, spec, version.version)
    selected = context.selected_asset_keys
    for table, rows in spec_tables(spec, version.version).items():
        if dg.AssetKey(["grading_spec", table]) in selected:
            yield dg.MaterializeResult(
                asset_key=["grading_spec", table],
                metadata={"rows": rows.num_rows, "spec_file": str(cfg.grading), "spec_version": version.version},
            )
    if dg.AssetKey(["grading_spec", "versions"]) in selected:
        yield dg.MaterializeResult(
            asset_key=["grading_spec", "versions"], metadata={"spec_version": version.version, "new_version": first}
        )
    context.log.info(f"grading spec {cfg.grading}: version {version.version}{' (new)' if first else ''}")


@partitioned(
    dg.asset,
    key=["evaluation", "shadow_grade_comparison"],
    # after the day's grades are kept: the shadow's are kept beside them, with the same inputs time
    deps=[dg.AssetKey(["marts", "customer_grades"]), dg.AssetKey(["history", "grade_history"])],
    kinds={"duckdb", "dbt"},
    description="A candidate grading spec (crmgrade.yml shadow_grading) graded beside the live one into "
    "shadow_marts.customer_grades (kept per day in evaluation.variant_grades), and the day's customers per live grade "
    "and shadow grade. Served grades and BI are untouched. Without a candidate configured, nothing is graded.",
)
def shadow_grade_comparison(
    context: dg.AssetExecutionContext, settings: CrmgradeSettings, warehouse: DuckDBWarehouse, dbt: DbtCliResource
):
    cfg = settings.load_for(context)
    if cfg.shadow_grading is None:
        context.log.info("no shadow_grading spec configured: nothing graded in the shadow")
        return dg.MaterializeResult(metadata={"shadow_spec": "none configured"})
    # the candidate is a whole spec version: its grading.yml with the live rules and segment maps
    version = version_of(spec_files(cfg.shadow_grading, cfg.rules))
    parse_grading_spec(version.files["grading.yml"], str(cfg.shadow_grading))  # invalid: stop before recording it
    with warehouse.connect() as con:
        record_version(con, version, context.run_id, datetime.now(UTC).replace(tzinfo=None))
    context.log.info(f"shadow grading under spec version {version.version}")
    grade_variant(
        warehouse.connect,
        lambda args: build_variant(dbt, args),
        shadow.VARIANT,
        version,
        str(cfg.shadow_grading),
        cfg.dbt_vars(),
    )
    with warehouse.connect() as con:
        rows = shadow.record_comparison(con, cfg.resolved_as_of_date())
        shadow.keep_grades(con, cfg.resolved_as_of_date())
    totals = shadow.comparison_totals(rows)
    context.log.info(f"shadow grading: {totals['grade_differs']:,} of {totals['customers']:,} customers differ")
    pairs = [(r["live_grade"], r["shadow_grade"], r["customers"]) for r in rows]
    return dg.MaterializeResult(
        metadata={
            **{k: v for k, v in totals.items() if k != "moves"},
            "shadow_spec": str(cfg.shadow_grading),
            "grades": dg.MetadataValue.md(md_table(["live grade", "shadow grade", "customers"], pairs)),
        }
    )


TAG_COLUMNS = {
    "customer_key": "The customer (marts.dim_customer).",
    "tag": "The rule's tag (e.g. 高价值).",
    "tag_group": "The rule's group, if it names one.",
    "rule": "Name of the rule in rules.yml whose condition holds.",
    "as_of_date": "As-of date of the facts the condition was evaluated on.",
}


@partitioned(
    dg.asset,
    key=["tags", "customer_tags"],
    metadata={
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, description=text) for name, text in TAG_COLUMNS.items()]
        )
    },
    kinds={"duckdb", "polars"},
    deps=[dg.AssetKey(["marts", "fct_customer"]), dg.AssetKey(["marts", "customer_grades"])],
    description="Tags from rules.yml: one row per customer and rule whose condition holds (pipeline/grading/rules.py).",
)
def customer_tags(context: dg.AssetExecutionContext, settings: CrmgradeSettings, warehouse: DuckDBWarehouse):
    cfg = settings.load_for(context)
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
        con.execute("create schema if not exists tags")
        con.execute(
            """create or replace table tags.customer_tags as
            select customer_key, tag, tag_group, rule, as_of_date from tag_rows order by rule, customer_key"""
        )
        con.unregister("tag_rows")
    counts = tags.group_by("rule").len().sort("rule").rows()
    return dg.MaterializeResult(
        metadata={
            "rows": tags.height,
            "rules": len(compiled),
            "customers_per_rule": dg.MetadataValue.md(md_table(["rule", "customers"], counts)),
        }
    )


_CLV_TABLES = {
    "model_params": "BG/NBD and Gamma-Gamma maximum-likelihood parameters per profile ('all' = every customer).",
    "customer_predictions": "Per customer with a purchase: P(alive), expected purchases, churn risk, CLV.",
}


@partitioned(
    dg.multi_asset,
    specs=[
        dg.AssetSpec(
            ["clv", table],
            description=description,
            kinds={"duckdb", "scipy"},
            deps=[dg.AssetKey(["marts", "fct_orders"]), dg.AssetKey(["marts", "customer_grades"])],
        )
        for table, description in _CLV_TABLES.items()
    ],
)
def clv_assets(context: dg.AssetExecutionContext, settings: CrmgradeSettings, warehouse: DuckDBWarehouse):
    """Fit BG/NBD or MBG/NBD + Gamma-Gamma on purchases before the grades' as-of date (pipeline/grading/clv.py)."""
    cfg = settings.load_for(context)
    spec = load_grading_spec(cfg.grading)
    with warehouse.connect() as con:
        # the grades' as-of date, so the predictions describe the same day as the grades of this run
        [(as_of_date,)] = con.sql("select max(as_of_date) from marts.customer_grades").fetchall()
        if as_of_date is None:
            reason = why_nothing_graded(con, cfg.resolved_as_of_date())
            if not no_orders_delivered(con):  # orders came and none is gradeable: a fault to fix, so the run stops
                raise dg.Failure(f"marts.customer_grades is empty, nothing to predict: {reason}")
            # a company with no sales (its registry, contacts, tickets): resolved and published, nobody graded, and
            # the summary says so first (pipeline/runs/summary.py)
            context.log.warning(f"Nobody is graded: {reason}")
            empty = no_customer_value(cfg.resolved_as_of_date(), reason)
            replace_tables(con, "clv", {"model_params": empty.params, "customer_predictions": empty.predictions})
            for table in _CLV_TABLES:
                yield dg.MaterializeResult(asset_key=["clv", table], metadata={"rows": 0, "why": reason})
            return
        # the purchases the grades counted: a known customer's, before the as-of date (fct_orders.is_purchase is
        # the spec's definition, macros/purchase.sql; Python reads marts, never dbt's intermediate layer)
        orders = con.sql(
            """select customer_key, order_date as purchase_date, gross_amount, net_amount
            from marts.fct_orders
            where customer_key is not null and is_purchase and order_date < $as_of""",
            params={"as_of": as_of_date},
        ).pl()
        profiles = con.sql("select customer_key, profile from marts.customer_grades").pl()
        result = predict_customer_value(
            orders,
            profiles,
            as_of_date,
            spec.clv,
            spec.monetary,
            log=context.log.info,
            spec_version=version_of(spec_files(cfg.grading, cfg.rules)).version,
            previous=_last_fit(con),
        )
        replace_tables(con, "clv", {"model_params": result.params, "customer_predictions": result.predictions})
    notes = md_table(["fit", "note"], sorted(result.fit_notes.items())) if result.fit_notes else "Every fit converged."
    params_md = md_table(
        ["model", "profile", "parameter", "value", "customers", "log-likelihood"],
        result.params.select("model", "profile", "parameter", "value", "n_customers", "log_likelihood").rows(),
    )
    yield dg.MaterializeResult(
        asset_key=["clv", "model_params"],
        metadata={
            "as_of_date": str(as_of_date),
            "refitted": result.refitted,
            "fitted_as_of": str(result.fitted_as_of),
            "why": result.reason,
            "parameters": dg.MetadataValue.md(params_md),
            # a fit that did not converge: kept (its limit still predicts) or replaced by the pooled one, and why
            "fit_notes": dg.MetadataValue.md(notes),
        },
    )
    risk = result.predictions.group_by("churn_risk").len().sort("churn_risk").rows()
    yield dg.MaterializeResult(
        asset_key=["clv", "customer_predictions"],
        metadata={
            "rows": result.predictions.height,
            "total_clv": float(result.predictions["clv"].sum()),
            "churn_risk": dg.MetadataValue.md(md_table(["churn risk", "customers"], risk)),
        },
    )


def _last_fit(con) -> pl.DataFrame | None:
    """The parameter rows the last run wrote, which this run may predict with (grading.yml clv.refit_every_days)."""
    return con.sql("select * from clv.model_params").pl() if table_exists(con, "clv", "model_params") else None
