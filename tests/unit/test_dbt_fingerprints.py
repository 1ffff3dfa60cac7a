"""The code fingerprint of an incremental model changes with any code behind its rows, and only with that."""

import copy
import json

from pipeline.dbt_fingerprints import code_fingerprints


def _manifest() -> dict:
    def model(name, materialized, nodes, macros=()):
        return {
            "resource_type": "model",
            "config": {"materialized": materialized},
            "checksum": {"checksum": f"sql of {name}"},
            "depends_on": {"nodes": list(nodes), "macros": list(macros)},
        }

    return {
        "nodes": {
            "model.p.stg": model("stg", "view", ["source.p.raw.t"], ["macro.p.lineage"]),
            "seed.p.regions": {"resource_type": "seed", "checksum": {"checksum": "csv"}, "depends_on": {"macros": []}},
            "model.p.dim": model("dim", "incremental", ["model.p.stg", "seed.p.regions"], ["macro.p.survivor"]),
            "model.p.other": model("other", "table", ["model.p.stg"]),
        },
        "macros": {
            "macro.p.lineage": {"macro_sql": "lineage v1", "depends_on": {"macros": []}},
            "macro.p.survivor": {"macro_sql": "survivor v1", "depends_on": {"macros": ["macro.p.order_by"]}},
            "macro.p.order_by": {"macro_sql": "order v1", "depends_on": {"macros": []}},
            "macro.p.unused": {"macro_sql": "unused v1", "depends_on": {"macros": []}},
        },
    }


def _changed(edit, dbt_vars=None) -> bool:
    manifest = _manifest()
    before = code_fingerprints(manifest, {"as_of_date": "2026-07-01", "timezone": "Asia/Shanghai"})
    edited = copy.deepcopy(manifest)
    edit(edited)
    after = code_fingerprints(edited, dbt_vars or {"as_of_date": "2026-07-01", "timezone": "Asia/Shanghai"})
    assert set(before) == {"model.p.dim"}  # incremental models only
    return before != after


def test_the_fingerprint_follows_every_piece_of_code_upstream():
    assert not _changed(lambda m: None)
    assert _changed(lambda m: m["nodes"]["model.p.dim"]["checksum"].update(checksum="new sql"))
    assert _changed(lambda m: m["nodes"]["model.p.stg"]["checksum"].update(checksum="new sql"))  # upstream model
    assert _changed(lambda m: m["nodes"]["seed.p.regions"]["checksum"].update(checksum="new csv"))
    assert _changed(lambda m: m["macros"]["macro.p.lineage"].update(macro_sql="v2"))  # a macro upstream calls
    assert _changed(lambda m: m["macros"]["macro.p.order_by"].update(macro_sql="v2"))  # a macro a macro calls
    assert _changed(lambda m: None, {"as_of_date": "2026-07-01", "timezone": "UTC"})  # a var


def test_what_does_not_shape_the_rows_leaves_it_alone():
    assert not _changed(lambda m: m["macros"]["macro.p.unused"].update(macro_sql="v2"))
    assert not _changed(lambda m: m["nodes"]["model.p.other"]["checksum"].update(checksum="new sql"))  # downstream
    assert not _changed(lambda m: None, {"as_of_date": "2026-07-02", "timezone": "Asia/Shanghai"})  # the day


def test_the_fingerprints_of_the_project_cover_its_models_built_per_customer(dbt_manifest):
    manifest = json.loads(dbt_manifest.read_text(encoding="utf-8"))
    fingerprints = code_fingerprints(manifest)
    per_customer = {"int_identity__graph", "int_customer_attribute_observations", "dim_customer"}
    assert {f"model.crmgrade.{m}" for m in per_customer} <= set(fingerprints)
