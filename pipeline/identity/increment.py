"""Incremental identity resolution: resolve only the records of new files and the customers they can touch.

A nightly run mostly adds files. Records that arrive can only change the customers that share something with them,
so an increment resolves a neighbourhood, not everyone:
1. the new records, and every earlier customer holding one of their identifier values (a value already known to
   be shared is not followed: it links nobody) or one of their masked phone numbers (the masked-phone rule
   weighs every holder of a number);
2. those records are grouped again (their identifiers can only link within them: a value that is not shared has
   all its holders in one customer), profiled, and scored by the Splink model of the last full resolution against
   each other and against every other profile;
3. customers whose profile an accepted match reaches join the neighbourhood unchanged (their identifier groups and
   matches as last written), and components and keys are computed over the neighbourhood as a full run does.
Everything outside keeps its links, keys and scores. With the same model, the links, keys and matches are a full
resolution's, but for one difference by design: the masked-phone rule looks one step out from the new records (a
customer that a new record reaches through a masked number brings its own numbers' holders in only at the next full
resolution). The scores outside stay those of their last run: a full resolution moves every score a little even
with the same model (Splink counts the names' frequencies again over every profile).

A run resolves everything again (and trains Splink again) when an increment cannot be exact or is not wanted: the
first run; a file loaded earlier is gone, replaced, or holds another number of records (an erasure, a released
quarantine row); the identity config or this package's code changed; an unmerge waits to be applied (never_link.py);
identity.incremental is off; or the last full resolution is identity.full_resolution_every_days old.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from pipeline.identity.changes import table_columns
from pipeline.identity.config import IdentityConfig
from pipeline.identity.deterministic import add_groups
from pipeline.identity.matching import add_edges
from pipeline.identity.never_link import pending_pairs
from pipeline.identity.records import existing_entities
from pipeline.identity.work_db import WORK_DB

# The files resolved so far: a later run knows from these which files are new and whether an old one changed.
RESOLVED_FILES_DDL = """create table if not exists identity.resolved_files (
    source_name varchar not null, source_file varchar not null, source_file_sha256 varchar, records bigint not null,
    primary key (source_name, source_file))"""
MODEL_DDL = """create table if not exists identity.match_model (
    run_id varchar not null, trained_at timestamp not null, model json not null)"""


def state_fingerprint(config: IdentityConfig) -> str:
    """A digest of what decides a resolution: the identity config and this package's code. An increment needs the
    state an identical resolution wrote."""
    digest = hashlib.sha256(json.dumps(config.model_dump(mode="json"), sort_keys=True).encode())
    for module in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(module.name.encode() + module.read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class Plan:
    incremental: bool
    reason: str  # why a full resolution, or what the increment adds


def plan_resolution(con: duckdb.DuckDBPyConnection, config: IdentityConfig, fingerprint: str, now: datetime) -> Plan:
    """Whether this run can resolve incrementally. Creates workspace table `identity_new_files` (source_name,
    source_file) of the files no run resolved yet."""
    con.execute(f"create or replace table {WORK_DB}.identity_new_files (source_name varchar, source_file varchar)")
    if not config.incremental:
        return Plan(False, "identity.incremental is off")
    if waiting := pending_pairs(con):
        return Plan(False, f"{waiting} unmerge or never-link pair(s) wait to be applied")
    if not table_columns(con, "identity", "resolved_files") or "state_fingerprint" not in table_columns(
        con, "identity", "runs"
    ):
        return Plan(False, "no earlier resolution to build on")
    last = con.execute(
        """select state_fingerprint,
               (select max(resolved_at) from identity.runs where mode = 'full'),
               (select count(*) from identity.match_model)
        from identity.runs order by resolved_at desc limit 1"""
    ).fetchall()
    if not last or last[0][1] is None:
        return Plan(False, "no earlier full resolution")
    last_fingerprint, last_full, models = last[0]
    if last_fingerprint != fingerprint:
        return Plan(False, "the identity config or code changed since the last resolution")
    if now - last_full >= timedelta(days=config.full_resolution_every_days):
        return Plan(False, f"the last full resolution is {config.full_resolution_every_days}+ days old")
    if config.matching.enabled and not models:
        return Plan(False, "no trained Splink model to reuse")
    entities = existing_entities(con)
    if not entities:
        return Plan(False, "no person records")
    per_file = " union all ".join(
        f"""select _source as source_name, _source_file as source_file, any_value(_file_sha256) as source_file_sha256,
                   count(*) as records
            from raw.{e} group by all"""
        for e in entities
    )
    con.execute(
        f"""create or replace table {WORK_DB}.identity_raw_files as
        select source_name, source_file, any_value(source_file_sha256) as source_file_sha256, sum(records) as records
        from ({per_file}) group by all"""
    )
    [(changed, example)] = con.execute(
        """select count(*), any_value(r.source_name || ' ' || r.source_file)
        from identity.resolved_files r left join identity_raw_files n using (source_name, source_file)
        where n.records is distinct from r.records or n.source_file_sha256 is distinct from r.source_file_sha256"""
    ).fetchall()
    if changed:
        return Plan(False, f"{changed} file(s) resolved earlier changed or left (e.g. {example})")
    con.execute(
        f"""insert into {WORK_DB}.identity_new_files
        select source_name, source_file from identity_raw_files anti join identity.resolved_files
            using (source_name, source_file)"""
    )
    [(files,)] = con.execute("select count(*) from identity_new_files").fetchall()
    return Plan(True, f"{files} new file(s)")


def neighbourhood_records(con: duckdb.DuckDBPyConnection, identifiers: list[str]) -> None:
    """Workspace tables `identity_records`: the new records (`identity_new_records`), the earlier records holding
    one of their identifier values (not a shared one) or masked phone numbers, and every record of those records'
    customers; `identity_touched` (customer_key): those customers; `identity_replaced_groups` (identifier_group):
    their identifier groups, which this run forms again.

    An earlier record in no customer (a receipt with only an order id) is found by its values too: a new line of
    its order may name the buyer.
    """
    lookups = []
    for column in [*identifiers, "phone_pattern"]:
        shared = (
            f"and {column} not in (select id_value from identity.shared_identifiers where id_type = '{column}')"
            if column != "phone_pattern"
            else ""
        )
        lookups.append(
            f"""select record_id from identity.records
            where {column} in (select {column} from identity_new_records where {column} is not null {shared})"""
        )
    con.execute(f"create or replace table {WORK_DB}.identity_hits as {' union '.join(lookups)}")
    con.execute(
        f"""create or replace table {WORK_DB}.identity_touched as
        select distinct customer_key from identity.record_links semi join identity_hits using (record_id)"""
    )
    con.execute(
        f"""create or replace table {WORK_DB}.identity_records as
        select * from identity_new_records
        union all by name
        select * from identity.records
        where record_id in (
            select record_id from identity_hits
            union
            select record_id from identity.record_links semi join identity_touched using (customer_key)
        )"""
    )
    con.execute(
        f"""create or replace table {WORK_DB}.identity_replaced_groups as
        select distinct identifier_group from identity.record_links semi join identity_touched using (customer_key)"""
    )
    con.execute("drop table identity_hits")
    # none linked yet (add_linked_customers, when matching is on)
    con.execute(f"create or replace table {WORK_DB}.identity_linked (customer_key varchar)")
    con.execute(
        f"""create or replace table {WORK_DB}.identity_linked_records as
        select *, null::bigint as identifier_group from identity.records limit 0"""
    )


def add_linked_customers(con: duckdb.DuckDBPyConnection) -> int:
    """Bring in, unchanged, the customers an accepted match of this run reaches outside the neighbourhood: their
    records to `identity_records` (which an increment makes: neighbourhood_records), their groups to
    `identity_groups` (deterministic.py's) and their Splink matches to `identity_match_edges` (matching.py's), each
    through the module that makes it. Returns how many customers."""
    con.execute(
        f"""create or replace table {WORK_DB}.identity_linked as
        with reached as (
            select group_id_l as group_id from identity_match_edges where accepted
            union
            select group_id_r from identity_match_edges where accepted
        )
        select distinct l.customer_key from identity.record_links l
        join reached r on r.group_id = l.identifier_group
        where l.customer_key not in (select customer_key from identity_touched)"""
    )
    con.execute(
        f"""create or replace table {WORK_DB}.identity_linked_records as
        select r.*, l.identifier_group from identity.records r
        join identity.record_links l using (record_id)
        semi join identity_linked k on k.customer_key = l.customer_key"""
    )
    con.execute("insert into identity_records by name select * exclude (identifier_group) from identity_linked_records")
    add_groups(
        con, "select record_id, identifier_group from identity_linked_records where identifier_group is not null"
    )
    add_edges(
        con,
        """select e.* exclude (rule, customer_key_l, customer_key_r) from identity.match_edges e
        where e.rule = 'match'
          and group_id_l in (select identifier_group from identity_linked_records)
          and group_id_r in (select identifier_group from identity_linked_records)""",
    )
    [(customers,)] = con.execute("select count(*) from identity_linked").fetchall()
    return customers
