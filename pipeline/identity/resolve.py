"""Identity resolution, end to end: raw records -> identifier groups -> Splink matches -> stable customer keys.

Writes, in one transaction, the `identity` schema the dbt project reads as a source:
- identity.record_links: one row per person record (raw lineage) with its customer_key and why it got it;
- identity.customer_changes: the customers this run changed, appended (changes.py);
- identity.match_edges: Splink's scored pairs between identifier groups (accepted or not) with the levels;
- identity.shared_identifiers: values too shared to link (e.g. a shop's phone typed for every walk-in);
- identity.customer_keys: every key ever issued, with the successor of a key retired by a merge;
- identity.source_trust: the survivorship ranking from the config, for the golden record;
- identity.runs: one row per run with its counts and timings.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pyarrow as pa

from pipeline.config import IdentityConfig
from pipeline.identity.changes import log_customer_changes, table_columns, trust_changed
from pipeline.identity.deterministic import build_identifiers, connected_components, identifier_groups
from pipeline.identity.keys import KEY_PREFIX, assign_keys
from pipeline.identity.masked_phone import RULE as MASKED_PHONE
from pipeline.identity.masked_phone import masked_phone_edges
from pipeline.identity.matching import build_profiles, match_profiles
from pipeline.identity.records import build_records
from pipeline.identity.work_db import WORK_DB, identity_workspace, unordered

log = logging.getLogger(__name__)

DDL = [
    "create schema if not exists identity",
    """create table if not exists identity.customer_keys (
        customer_key varchar primary key, issued_run_id varchar, issued_at timestamp,
        retired_run_id varchar, successor_key varchar)""",
    """create table if not exists identity.runs (
        run_id varchar, resolved_at timestamp, records bigint, identified_records bigint,
        identifier_groups bigint, profiles bigint, accepted_matches bigint, customers bigint,
        new_keys bigint, retired_keys bigint, shared_identifiers bigint, matching_skipped varchar,
        stage_seconds json)""",
    "alter table identity.runs add column if not exists changed_customers bigint",
]


@dataclass
class IdentitySummary:
    records: int = 0
    identified_records: int = 0
    identifier_groups: int = 0
    profiles: int = 0
    accepted_matches: int = 0
    customers: int = 0
    new_keys: int = 0
    retired_keys: int = 0
    shared_identifiers: int = 0
    changed_customers: int = 0
    matching_skipped: str | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)


def _previous_keys(con: duckdb.DuckDBPyConnection) -> None:
    """Workspace table `identity_previous_keys` (record_id, customer_key): this run's records keyed last run."""
    source = (
        """select r.record_id, l.customer_key
        from identity_records r
        join identity.record_links l using (source_name, source_file, source_row_number)"""
        if table_columns(con, "identity", "record_links")
        else "select null::bigint as record_id, null::varchar as customer_key limit 0"
    )
    con.execute(f"create or replace table {WORK_DB}.identity_previous_keys as {source}")


def resolve_identities(
    con: duckdb.DuckDBPyConnection, config: IdentityConfig, run_id: str, now: datetime
) -> IdentitySummary:
    """Resolve every person record to a customer key and write the identity schema (see the module's doc).

    The working tables live in the identity workspace (work_db.py) while it runs; a caller that wants to read
    them afterwards (identity_records) holds one open around the call.
    """
    with identity_workspace(con):
        return _resolve(con, config, run_id, now)


def _resolve(con: duckdb.DuckDBPyConnection, config: IdentityConfig, run_id: str, now: datetime) -> IdentitySummary:
    summary = IdentitySummary()
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        summary.stage_seconds[stage] = round(time.perf_counter() - clock, 3)
        clock = time.perf_counter()

    for statement in DDL:
        con.execute(statement)
    summary.records = build_records(con)
    build_identifiers(con, list(config.identifiers), config.max_names_per_identifier)
    summary.shared_identifiers = con.sql("select count(*) from identity_shared").fetchall()[0][0]
    lap("records")
    identifier_groups(con)
    summary.identified_records, summary.identifier_groups = con.sql(
        "select count(*), count(distinct group_id) from identity_groups"
    ).fetchall()[0]
    lap("identifier_groups")

    if config.matching.enabled:
        build_profiles(con)
    result = match_profiles(con, config.matching.seed, config.matching.enabled)
    summary.profiles, summary.matching_skipped = result.profiles, result.skipped
    threshold = float(config.matching.threshold)
    rule_edges = "select null::bigint as group_id_l, null::bigint as group_id_r limit 0"
    if config.matching.enabled and config.matching.unique_masked_phone:
        masked_phone_edges(con, threshold)
        rule_edges = "select * from identity_rule_edges"
    con.execute(
        f"""create or replace table {WORK_DB}.identity_edges as
        select *, 'match' as rule, match_probability >= {threshold} as accepted
        from identity_match_edges
        union all by name
        select *, '{MASKED_PHONE}' as rule, true as accepted from ({rule_edges})"""
    )
    summary.accepted_matches = con.sql("select count(*) from identity_edges where accepted").fetchall()[0][0]
    lap("matching")

    # Groups joined by accepted matches are one customer.
    connected_components(
        con,
        "select distinct group_id from identity_groups",
        "select distinct group_id_l, group_id_r from identity_edges where accepted",
        "group_id",
        into="identity_group_cc",
    )
    con.execute(
        f"""create or replace table {WORK_DB}.identity_clusters as
        select g.record_id, g.group_id, c.cluster_id
        from identity_groups g join identity_group_cc c using (group_id)"""
    )
    lap("customers")

    issued_max = con.sql(
        "select coalesce(max(cast(substr(customer_key, ?) as bigint)), 0) from identity.customer_keys",
        params=[len(KEY_PREFIX) + 1],
    ).fetchall()[0][0]
    _previous_keys(con)
    assign_keys(con, "identity_clusters", "identity_previous_keys", issued_max)
    # Every key a cluster kept came from last run, so the others are the ones issued now.
    con.execute(
        f"""create or replace table {WORK_DB}.identity_new_keys as
        select customer_key from identity_key_map
        where customer_key not in (select customer_key from identity_previous_keys)"""
    )
    [(summary.customers,)] = con.sql("select count(*) from identity_key_map").fetchall()
    [(summary.new_keys,)] = con.sql("select count(*) from identity_new_keys").fetchall()
    [(summary.retired_keys,)] = con.sql("select count(*) from identity_retired").fetchall()
    lap("keys")

    with unordered(con):  # record_links is a set: no order to keep while writing millions of rows
        _write(con, config, run_id, now, summary)
    lap("write")
    return summary


def _write(con, config, run_id, now, summary) -> None:
    trust = pa.table(
        {
            "source_name": config.survivorship.source_trust,
            "trust_rank": list(range(1, len(config.survivorship.source_trust) + 1)),
        }
    )
    con.register("identity_trust", trust)
    con.execute("begin transaction")
    try:
        # Written beside last run's links first: the customers whose links differ are logged, then it replaces them.
        con.execute(
            """create or replace table identity.record_links_next as
            with shared_values as (
                select id_type, id_value from identity_ids group by id_type, id_value having count(*) > 1
            ),
            linked_by as (
                -- a list sorted per record, not an ordered aggregate: that one cannot spill within memory_limit
                select i.record_id, array_to_string(list_sort(list_distinct(list(i.id_type))), ',') as linked_by
                from identity_ids i semi join shared_values s using (id_type, id_value)
                group by i.record_id
            ),
            best_match as (
                select group_id, max_by(other_source, coalesce(match_probability, 0)) as matched_source,
                       max(match_probability) as match_probability,
                       max_by(rule, coalesce(match_probability, 0)) as rule
                from (
                    select group_id_l as group_id, source_r as other_source, match_probability, rule
                    from identity_edges where accepted
                    union all
                    select group_id_r, source_l, match_probability, rule from identity_edges where accepted
                )
                group by group_id
            )
            select r.source_name, r.source_file, r.source_row_number, r.source_file_sha256, r.entity, k.customer_key,
                   case when m.group_id is not null then m.rule
                        when l.linked_by is not null then 'identifier'
                        else 'single' end as link_rule,
                   l.linked_by, m.match_probability, m.matched_source,
                   c.group_id as identifier_group, r.observed_at, ? as run_id
            from identity_clusters c
            join identity_records r using (record_id)
            join identity_key_map k using (cluster_id)
            left join linked_by l using (record_id)
            left join best_match m using (group_id)""",
            [run_id],
        )
        summary.changed_customers = log_customer_changes(
            con, "identity.record_links_next", run_id, now, trust_changed(con, config.survivorship.source_trust)
        )
        con.execute("drop table if exists identity.record_links")
        con.execute("alter table identity.record_links_next rename to record_links")
        con.execute(
            """create or replace table identity.match_edges as
            select e.*, kl.customer_key as customer_key_l, kr.customer_key as customer_key_r
            from identity_edges e
            left join (select distinct identifier_group, customer_key from identity.record_links) kl
                on kl.identifier_group = e.group_id_l
            left join (select distinct identifier_group, customer_key from identity.record_links) kr
                on kr.identifier_group = e.group_id_r"""
        )
        con.execute(
            "create or replace table identity.shared_identifiers as select *, ? as run_id from identity_shared",
            [run_id],
        )
        con.execute("create or replace table identity.source_trust as select * from identity_trust")
        con.execute(
            "insert into identity.customer_keys select customer_key, ?, ?, null, null from identity_new_keys",
            [run_id, now],
        )
        con.execute(
            """update identity.customer_keys k set retired_run_id = ?, successor_key = r.successor_key
            from identity_retired r where k.customer_key = r.customer_key""",
            [run_id],
        )
        con.execute(
            """insert into identity.runs (run_id, resolved_at, records, identified_records, identifier_groups, profiles,
                accepted_matches, customers, new_keys, retired_keys, shared_identifiers, matching_skipped,
                stage_seconds, changed_customers)
            values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                run_id,
                now,
                summary.records,
                summary.identified_records,
                summary.identifier_groups,
                summary.profiles,
                summary.accepted_matches,
                summary.customers,
                summary.new_keys,
                summary.retired_keys,
                summary.shared_identifiers,
                summary.matching_skipped,
                summary.stage_seconds,
                summary.changed_customers,
            ],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.unregister("identity_trust")
