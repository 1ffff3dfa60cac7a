"""The outbox: per run, the customers who entered or left each membership rules.yml acts on, per destination
(pipeline/activation). Idempotent: a run again on the same inputs writes no event and no file."""

import dagster as dg

from pipeline.activation.memberships import planned_actions, unknown_values
from pipeline.activation.outbox import record_changes, write_outbox
from pipeline.defs.partitions import partitioned
from pipeline.defs.resources import CrmgradeSettings, DuckDBWarehouse
from pipeline.grading.rules import load_rules
from pipeline.grading.spec import load_grading_spec
from pipeline.markdown import md_table

OUTBOX = dg.AssetKey(["activation", "outbox"])


@partitioned(
    dg.asset,
    key=OUTBOX,
    kinds={"duckdb", "polars"},
    deps=[
        dg.AssetKey(["tags", "customer_tags"]),
        dg.AssetKey(["marts", "customer_grades"]),
        dg.AssetKey(["marts", "dim_customer"]),
    ],
    description="Enter and exit events of the memberships rules.yml's actions watch (a rule's tag, a grade, a "
    "segment) since the last delivery: activation.events, and one file per destination and run under outbox_dir.",
)
def activation_outbox(context: dg.AssetExecutionContext, settings: CrmgradeSettings, warehouse: DuckDBWarehouse):
    cfg = settings.load_for(context)
    spec = load_rules(cfg.rules)
    actions = planned_actions(spec)
    as_of = cfg.resolved_as_of_date()
    grades = [g.grade for g in load_grading_spec(cfg.grading).grades]
    with warehouse.connect() as con:
        unknown = unknown_values(con, actions, grades)
        if unknown:
            raise dg.Failure(f"{cfg.rules}: grade_actions name what grading never gives: {'; '.join(unknown)}")
        delivery = record_changes(con, actions, as_of, context.run_id)
        files = write_outbox(con, cfg.outbox_dir, spec.destinations)
    if delivery.skipped:
        context.log.info(delivery.skipped)
    rows = [(d, e, n) for (d, e), n in sorted(delivery.events.items())]
    return dg.MaterializeResult(
        metadata={
            "actions": len(actions),
            "events": delivery.total,
            "batch_id": delivery.batch_id,
            "per_destination": dg.MetadataValue.md(
                md_table(["destination", "event", "customers"], rows) if rows else delivery.skipped or "no change"
            ),
            "files": dg.MetadataValue.md("\n".join(f"- {f}" for f in files) or "none"),
        }
    )
