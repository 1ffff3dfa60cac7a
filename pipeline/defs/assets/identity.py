"""Identity resolution as Dagster assets (group `identity`): one customer_key per person across channels."""

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from pipeline.defs.partitions import partitioned
from pipeline.defs.resources import CrmgradeSettings, DuckDBWarehouse
from pipeline.identity.records import PERSON_ENTITIES
from pipeline.identity.resolve import resolve_identities
from pipeline.identity.work_db import identity_workspace

RECORD_LINKS = dg.AssetKey(["identity", "record_links"])
# A customer seen under this many different names is more likely a merge gone wrong than one person.
MAX_NAMES_PER_CUSTOMER = 5

_TABLES = {
    "record_links": "One row per person record (raw lineage) with its customer_key and the rule or score that "
    "linked it.",
    "match_edges": "Splink's scored pairs between identifier groups, accepted or not, with comparison levels.",
    "customer_keys": "Every customer key ever issued; a key retired by a merge names its successor.",
    "source_trust": "The survivorship ranking of sources (config identity.survivorship.source_trust).",
    "shared_identifiers": "Identifier values seen with too many names to link anybody.",
    "customer_changes": "Append-only: the customers each run changed, for the models built incrementally.",
    "merges": "Append-only merge ledger: every merge of earlier customers and every unmerge, by run (with "
    "identity.merge_records, the records each key held before).",
}


@partitioned(
    dg.multi_asset,
    specs=[
        dg.AssetSpec(
            ["identity", table],
            description=description,
            kinds={"duckdb", "splink"},
            deps=[dg.AssetKey(["raw", e]) for e in PERSON_ENTITIES],
        )
        for table, description in _TABLES.items()
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "keys_are_live",
            asset=RECORD_LINKS,
            blocking=True,
            description="Every record's customer_key is an issued, unretired key.",
        ),
        dg.AssetCheckSpec(
            "no_overmerged_customer",
            asset=RECORD_LINKS,
            description=f"No customer carries more than {MAX_NAMES_PER_CUSTOMER} different names.",
        ),
    ],
)
def identity_assets(context: dg.AssetExecutionContext, settings: CrmgradeSettings, warehouse: DuckDBWarehouse):
    """Deterministic identifier links + Splink matching -> stable customer keys (pipeline/identity)."""
    cfg = settings.load_for(context)
    now = datetime.now(ZoneInfo(cfg.timezone)).replace(tzinfo=None)
    with warehouse.connect() as con, identity_workspace(con):  # identity_records stays readable for the checks
        summary = resolve_identities(con, cfg.identity, context.run_id, now)
        dead_keys = con.sql(
            """select count(*) from identity.record_links l
            left join identity.customer_keys k using (customer_key)
            where k.customer_key is null or k.retired_run_id is not null"""
        ).fetchall()[0][0]
        overmerged = con.sql(
            f"""select customer_key, count(distinct r.name) as names
            from identity.record_links l join identity_records r using (source_name, source_file, source_row_number)
            group by customer_key having count(distinct r.name) > {MAX_NAMES_PER_CUSTOMER}
            order by names desc limit 20"""
        ).fetchall()
    context.log.info(
        f"{summary.mode} resolution ({summary.mode_reason}): {summary.resolved_records:,} records resolved, "
        f"{summary.linked_customers:,} customers reached by their matches brought in; "
        f"{summary.records:,} person records, {summary.identified_records:,} identified, "
        f"{summary.identifier_groups:,} identifier groups, {summary.accepted_matches:,} Splink matches, "
        f"{summary.customers:,} customers ({summary.new_keys:,} new keys, {summary.retired_keys:,} retired), "
        f"{summary.changed_customers:,} changed since last run; {summary.merges:,} merges, "
        f"{summary.unmerges:,} unmerges, {summary.kept_apart:,} customers split by never-link pairs"
    )
    metadata = {
        "mode": summary.mode,  # full, or an increment over what new files can touch (pipeline/identity/increment.py)
        "mode_reason": summary.mode_reason,
        "resolved_records": summary.resolved_records,
        "records": summary.records,
        "identified_records": summary.identified_records,
        "anonymous_records": summary.records - summary.identified_records,
        "identifier_groups": summary.identifier_groups,
        "profiles_matched": summary.profiles,
        "accepted_matches": summary.accepted_matches,
        "customers": summary.customers,
        "new_keys": summary.new_keys,
        "changed_customers": summary.changed_customers,
        "retired_keys": summary.retired_keys,
        "merges": summary.merges,  # earlier customers merged into another (identity.merges)
        "unmerges": summary.unmerges,  # keys given back by `crmgrade identity unmerge` or identity.never_link
        "kept_apart": summary.kept_apart,  # customers split to keep a never-link pair apart
        "shared_identifiers": summary.shared_identifiers,
        "matching_skipped": summary.matching_skipped or "no",
        # the comparisons and rules chosen for this company's data, and what was left out (identity/model_plan.py)
        "matching_plan": dg.MetadataValue.json(summary.matching_plan),
        "stage_seconds": dg.MetadataValue.json(summary.stage_seconds),
    }
    yield dg.MaterializeResult(asset_key=RECORD_LINKS, metadata=metadata)
    for table in _TABLES:
        if table != "record_links":
            yield dg.MaterializeResult(asset_key=["identity", table])
    yield dg.AssetCheckResult(
        check_name="keys_are_live",
        asset_key=RECORD_LINKS,
        passed=dead_keys == 0,
        metadata={"records_with_dead_keys": dead_keys},
    )
    yield dg.AssetCheckResult(
        check_name="no_overmerged_customer",
        asset_key=RECORD_LINKS,
        passed=not overmerged,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"customers": dg.MetadataValue.json([{"customer_key": k, "names": n} for k, n in overmerged])},
    )
