"""The identity input: one row per raw record that can belong to a person, with its identifiers.

A record is a raw row, keyed by its lineage (source_name, source_file, source_row_number), so every staged
row finds its customer with one join. Identifier columns are spelled the same in every entity (the canonical
schema), so the extraction is written once from the schema, not per source.
"""

from __future__ import annotations

import duckdb

from pipeline.contracts.schema import ENTITIES
from pipeline.identity.work_db import WORK_DB

# Entities whose rows are about a person, with the column holding the person's name and the record's time.
PERSON_ENTITIES: dict[str, tuple[str | None, str]] = {
    "customers": ("name", "registered_at"),
    "orders": ("buyer_name", "ordered_at"),
    "interactions": (None, "occurred_at"),
    "service_tickets": (None, "opened_at"),
    "surveys": (None, "answered_at"),
    "campaign_responses": (None, "targeted_at"),
    "leads": ("contact_name", "created_at"),
    "opportunities": (None, "created_at"),
}

# Identifiers whose values only mean something inside one source (a Tmall nickname, a CRM's lead id).
SOURCE_SCOPED = {"buyer_id", "lead_id", "order_id"}
# Identifiers that join records of one transaction but do not name a person.
JOIN_ONLY = {"order_id"}
IDENTIFIERS = ["member_id", "phone", "email", "wechat_unionid", "buyer_id", "lead_id", "order_id"]
ATTRIBUTES = ["city", "address"]
ROWS_PER_FILE = 2**32  # record ids leave this many numbers to each file's rows

# Cleaning wrote phones as E.164; a masked mainland mobile is +86 + 3 digits + **** + 4 digits.
_FULL_PHONE = r"^\+[0-9]{6,15}$"
_CN_MOBILE = r"^\+861[0-9]{2}[0-9*]{4}[0-9]{4}$"


def _column(entity: str, column: str | None) -> str:
    if column and column in ENTITIES[entity]:
        return f'"{column}"'
    return "null"


def _select(entity: str) -> str:
    name, at = PERSON_ENTITIES[entity]
    ids = {i: _column(entity, i) for i in IDENTIFIERS}
    ids["phone"] = f"case when regexp_matches({ids['phone']}, '{_FULL_PHONE}') then {ids['phone']} end"
    for scoped in SOURCE_SCOPED:
        if ids[scoped] != "null":
            ids[scoped] = f"_source || ':' || {ids[scoped]}"
    phone = _column(entity, "phone")
    pattern = (
        f"case when regexp_matches({phone}, '{_CN_MOBILE}') "
        f"then substr({phone}, 4, 3) || '****' || substr({phone}, 11, 4) end"
    )
    columns = [
        f"'{entity}' as entity",
        "_source as source_name",
        "_source_file as source_file",
        "_row_number as source_row_number",
        f"cast({_column(entity, at)} as timestamp) as observed_at",
        f"nullif(trim({_column(entity, name)}), '') as name",
        f"{pattern} as phone_pattern",
        *(f"cast({expr} as varchar) as {ident}" for ident, expr in ids.items()),
        *(f"cast({_column(entity, a)} as varchar) as {a}" for a in ATTRIBUTES),
    ]
    return f"select {', '.join(columns)} from raw.{entity}"


def existing_entities(con: duckdb.DuckDBPyConnection) -> list[str]:
    tables = {
        r[0] for r in con.sql("select table_name from information_schema.tables where table_schema = 'raw'").fetchall()
    }
    return [e for e in PERSON_ENTITIES if e in tables]


def build_records(con: duckdb.DuckDBPyConnection, table: str = f"{WORK_DB}.identity_records") -> int:
    """Create table `table` (in the identity workspace, work_db.py): one row per raw person record, its
    `record_id` increasing in lineage order.

    record_id = the file's ordinal (files in source, name order) * 2^32 + the row's number in the file: the
    lineage order without sorting every record (a window over all records holds them all in memory at once).
    """
    entities = existing_entities(con)
    if not entities:
        con.execute(f"create or replace table {table} as select 0::bigint as record_id where false")
        return 0
    union = "\nunion all\n".join(_select(e) for e in entities)
    con.execute(
        f"""create or replace temp table identity_files as
        select source_name, source_file, row_number() over (order by source_name, source_file) as file_ordinal
        from (select distinct _source as source_name, _source_file as source_file from ({
            " union all ".join(f"select _source, _source_file from raw.{e}" for e in entities)
        }))"""
    )
    con.execute(
        f"""create or replace table {table} as
        select case when r.source_row_number between 0 and {ROWS_PER_FILE - 1}
                    then f.file_ordinal * {ROWS_PER_FILE} + r.source_row_number
                    else error('row number ' || r.source_row_number || ' of ' || r.source_file || ' out of range')
               end as record_id,
               r.*
        from ({union}) r join identity_files f using (source_name, source_file)"""
    )
    con.execute("drop table identity_files")
    return con.sql(f"select count(*) from {table}").fetchall()[0][0]
