"""The registries: identifier and personal columns (pipeline/contracts/schema.py), warehouse schemas
(pipeline/warehouse_schemas.py), and who reads them."""

from typing import get_args

from pipeline.contracts.schema import ENTITIES, IDENTIFIERS, JOIN_ONLY, PERSON_IDENTIFIERS, PERSONAL, SOURCE_SCOPED
from pipeline.identity.config import IdentifierName, IdentityConfig
from pipeline.privacy.suppression import KINDS


def test_every_registered_column_is_a_canonical_column():
    canonical = {column for columns in ENTITIES.values() for column in columns}
    assert set(IDENTIFIERS) <= canonical
    assert canonical >= PERSONAL
    assert set(IDENTIFIERS) >= SOURCE_SCOPED | JOIN_ONLY


def test_a_person_is_named_by_every_identifier_but_the_transaction_ones():
    assert PERSON_IDENTIFIERS == ("member_id", "phone", "email", "wechat_unionid", "buyer_id", "lead_id")
    assert set(PERSON_IDENTIFIERS) <= PERSONAL
    assert "order_id" not in PERSONAL


def test_the_configuration_and_the_suppression_list_take_their_names_from_the_registry():
    assert get_args(IdentifierName) == IDENTIFIERS
    assert IdentityConfig().identifiers == list(IDENTIFIERS)
    assert KINDS == PERSON_IDENTIFIERS


def test_the_schema_registry_names_what_erasure_and_the_variants_use():
    from pipeline.grading import regrade, shadow
    from pipeline.warehouse_schemas import VARIANTS, erased_by_key, is_known, variant_schemas

    assert set(VARIANTS) == {shadow.VARIANT, regrade.VARIANT}
    assert erased_by_key() == (
        "identity",
        "intermediate",
        "marts",
        "history",
        "clv",
        "tags",
        "activation",
        "monitoring",
        "evaluation",
        "shadow_intermediate",
        "shadow_marts",
        "regrade_intermediate",
        "regrade_marts",
    )
    assert "grading_spec_shadow" in variant_schemas() and is_known("regrade_staging") and not is_known("public")
