"""The canonical schema: one table per entity in the warehouse's `raw` schema.

Source contracts map their own columns onto these names. The types here are the only
types a raw table can have; a contract cannot invent a new canonical column.
"""

from __future__ import annotations

from typing import Literal

ColumnType = Literal["string", "integer", "decimal", "boolean", "date", "timestamp"]

# Polars/DuckDB spelling of every canonical type. Decimals are DECIMAL(18,4): money must add up exactly, and four
# places hold three-place currencies and unit prices of a fraction of a cent; a value with more is quarantined,
# never rounded (pipeline/ingest/transform.py).
DUCKDB_TYPES: dict[str, str] = {
    "string": "varchar",
    "integer": "bigint",
    "decimal": "decimal(18, 4)",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
}

ENTITIES: dict[str, dict[str, ColumnType]] = {
    "customers": {
        "member_id": "string",
        # the whole name; an export that splits it maps first_name and last_name, and the whole name is composed
        # from them where the export gives none (ingest/transform.py whole_name)
        "name": "string",
        "first_name": "string",
        "last_name": "string",
        "phone": "string",
        "email": "string",
        "gender": "string",
        "birth_date": "date",
        # a personal registration number: 身份证号, a social security or national insurance number
        "national_id": "string",
        "province": "string",
        "city": "string",
        "address": "string",
        "postcode": "string",
        "occupation": "string",
        "company_name": "string",
        # a company's registration number: 统一社会信用代码, a VAT or company-house number
        "company_registration_id": "string",
        "industry": "string",
        "company_size": "string",
        "member_level": "string",
        "points": "integer",
        "wechat_unionid": "string",
        "consent_marketing": "boolean",
        "consent_sms": "boolean",
        "registered_at": "timestamp",
    },
    "orders": {
        "order_id": "string",
        "line_number": "integer",
        "member_id": "string",
        "buyer_id": "string",
        "buyer_name": "string",
        "phone": "string",
        "email": "string",
        "company_name": "string",
        "store_id": "string",
        "province": "string",
        "city": "string",
        "address": "string",
        "postcode": "string",
        "product_id": "string",
        "product_name": "string",
        "quantity": "integer",
        "unit_price": "decimal",
        "amount": "decimal",
        "refund_amount": "decimal",
        # what the line's goods cost the seller (purchase price x quantity): margin = net spend less it
        "cost_amount": "decimal",
        "currency": "string",
        "status": "string",
        "ordered_at": "timestamp",
        # when the export last changed the order (an ERP's 修改时间): of two deliveries of an order, the later
        # state wins (macros/latest_delivery.sql); without it, the file loaded last
        "updated_at": "timestamp",
    },
    "interactions": {
        "interaction_id": "string",
        "member_id": "string",
        "phone": "string",
        "email": "string",
        "channel": "string",
        "interaction_type": "string",
        "direction": "string",
        "occurred_at": "timestamp",
        "duration_seconds": "integer",
        "outcome": "string",
    },
    "service_tickets": {
        "ticket_id": "string",
        "member_id": "string",
        "phone": "string",
        "category": "string",
        "is_complaint": "boolean",
        "channel": "string",
        "status": "string",
        "opened_at": "timestamp",
        "resolved_at": "timestamp",
    },
    "surveys": {
        "response_id": "string",
        "member_id": "string",
        "phone": "string",
        "survey_type": "string",
        "score": "integer",
        "comment": "string",
        "answered_at": "timestamp",
    },
    "campaigns": {
        "campaign_id": "string",
        "campaign_name": "string",
        "channel": "string",
        "started_on": "date",
        "ended_on": "date",
        "budget": "decimal",
    },
    "campaign_responses": {
        "campaign_id": "string",
        "member_id": "string",
        "phone": "string",
        "targeted_at": "timestamp",
        "response_type": "string",
        "responded_at": "timestamp",
        # in the campaign's control group: chosen for it and not contacted (how its effect is measured)
        "is_holdout": "boolean",
    },
    "leads": {
        "lead_id": "string",
        "member_id": "string",
        "company_name": "string",
        "company_registration_id": "string",
        "contact_name": "string",
        "phone": "string",
        "email": "string",
        "lead_source": "string",
        "status": "string",
        "created_at": "timestamp",
    },
    "opportunities": {
        "opportunity_id": "string",
        "lead_id": "string",
        "member_id": "string",
        "company_name": "string",
        "stage": "string",
        "amount": "decimal",
        "created_at": "timestamp",
        "closed_at": "timestamp",
    },
}

# The identifier of a record inside its source. When a contract maps no such column, or a row leaves it
# empty, the loader derives one from the file and row number.
RECORD_ID: dict[str, str] = {
    "customers": "member_id",
    "orders": "order_id",
    "interactions": "interaction_id",
    "service_tickets": "ticket_id",
    "surveys": "response_id",
    "campaigns": "campaign_id",
    "campaign_responses": "",
    "leads": "lead_id",
    "opportunities": "opportunity_id",
}

# The lineage column naming each cell of a row that did not parse, with the cell's text (ingest/transform.py).
PARSE_ERRORS = "_parse_errors"
# Lineage columns every raw row carries, in this order, after the canonical columns.
LINEAGE: dict[str, str] = {
    "_source": "varchar",
    "_source_file": "varchar",
    "_row_number": "bigint",
    "_file_sha256": "varchar",
    "_ingested_at": "timestamp",
    "_parse_errors": "varchar",
    "_record_hash": "ubigint",  # of the record as read: finds exact duplicates across re-exported files
}

# Canonical columns that identify a person or a transaction, the one list identity, suppression, erasure and
# the configuration (identity.identifiers) read. Spelled the same in every entity that has them.
IDENTIFIERS: tuple[str, ...] = ("member_id", "phone", "email", "wechat_unionid", "buyer_id", "lead_id", "order_id")
# Identifiers whose values only mean something inside one source (a Tmall nickname, a CRM's lead id): they are
# prefixed with the source wherever they are compared or hashed.
SOURCE_SCOPED: frozenset[str] = frozenset({"buyer_id", "lead_id", "order_id"})
# Identifiers that join the records of one transaction but do not name a person.
JOIN_ONLY: frozenset[str] = frozenset({"order_id"})
PERSON_IDENTIFIERS: tuple[str, ...] = tuple(i for i in IDENTIFIERS if i not in JOIN_ONLY)
# Canonical columns holding personal data: names, contact details and the identifiers of a person. Erasure
# scrubs them, and a quarantine reason naming one is not written to the dq tables in clear.
PERSONAL: frozenset[str] = frozenset(
    {"name", "first_name", "last_name", "buyer_name", "contact_name", "phone", "email", "address", "national_id"}
) | set(PERSON_IDENTIFIERS)
