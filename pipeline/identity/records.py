"""The identity input: one row per raw record that can belong to a person, with its identifiers.

A record is a raw row, keyed by its lineage (source_name, source_file, source_row_number), so every staged
row finds its customer with one join. Identifier columns are spelled the same in every entity (the canonical
schema), so the extraction is written once from the schema, not per source.
"""

from __future__ import annotations

import duckdb

from pipeline.contracts.schema import ENTITIES, IDENTIFIERS, SOURCE_SCOPED
from pipeline.identity.attributes import PROFILE_COLUMNS
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

# What a person record says about the person beside its name and identifiers: the attributes matching compares
# (identity/model_plan.py), as text.
ATTRIBUTES = [c for c in PROFILE_COLUMNS if c not in ("name", "phone_pattern", *IDENTIFIERS)]
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
        "_file_sha256 as source_file_sha256",
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


FILES_DDL = """create table if not exists identity.record_files (
    source_name varchar not null, source_file varchar not null, file_ordinal bigint not null,
    primary key (source_name, source_file))"""


def register_files(con: duckdb.DuckDBPyConnection, entities: list[str]) -> None:
    """Give files seen for the first time the next ordinals, in source, name order (identity.record_files).

    Ordinals are kept for good, so a record's id (and so its identifier group's and cluster's) stays the same when
    other files arrive: numbering files afresh each run would renumber every file sorted after a new one.
    """
    con.execute("create schema if not exists identity")
    con.execute(FILES_DDL)
    seen = " union ".join(f"select distinct _source, _source_file from raw.{e}" for e in entities)
    con.execute(
        f"""insert into identity.record_files
        select source_name, source_file,
               (select coalesce(max(file_ordinal), 0) from identity.record_files)
                   + row_number() over (order by source_name, source_file)
        from (select _source as source_name, _source_file as source_file from ({seen}))
        anti join identity.record_files using (source_name, source_file)"""
    )


def build_records(
    con: duckdb.DuckDBPyConnection, table: str = f"{WORK_DB}.identity_records", files: str | None = None
) -> int:
    """Create table `table` (in the identity workspace, work_db.py): one row per raw person record, its
    `record_id` increasing in lineage order within the files of one arrival. `files`: a table of (source_name,
    source_file) to take the records of, instead of every file's.

    record_id = the file's ordinal (register_files) * 2^32 + the row's number in the file: stable across runs, and
    the lineage order without sorting every record (a window over all records holds them all in memory at once).
    """
    entities = existing_entities(con)
    if not entities:
        con.execute(f"create or replace table {table} as select 0::bigint as record_id where false")
        return 0
    register_files(con, entities)
    union = "\nunion all\n".join(_select(e) for e in entities)
    con.execute(
        f"""create or replace table {table} as
        select case when r.source_row_number between 0 and {ROWS_PER_FILE - 1}
                    then f.file_ordinal * {ROWS_PER_FILE} + r.source_row_number
                    else error('row number ' || r.source_row_number || ' of ' || r.source_file || ' out of range')
               end as record_id,
               r.*
        from ({union}) r join identity.record_files f using (source_name, source_file)
        {f"semi join {files} using (source_name, source_file)" if files else ""}"""
    )
    return con.sql(f"select count(*) from {table}").fetchall()[0][0]
