"""The grading spec as Dagster assets (group `grading`): grading.yml validated and written for dbt."""

import hashlib

import dagster as dg

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
