"""Identity resolution, end to end: raw records -> identifier groups -> Splink matches -> stable customer keys.

Writes, in one transaction, the `identity` schema the dbt project reads as a source:
- identity.record_links: one row per person record (raw lineage) with its customer_key and why it got it;
- identity.customer_changes: the customers this run changed, appended (changes.py);
- identity.match_edges: Splink's scored pairs between identifier groups (accepted or not) with the levels;
- identity.shared_identifiers: values too shared to link (e.g. a shop's phone typed for every walk-in);
- identity.customer_keys: every key ever issued, with the successor of a key retired by a merge;
- identity.source_trust: the survivorship ranking from the config, for the golden record;
- identity.runs: one row per run with its counts and timings, full or increment and why;
- identity.merges, identity.merge_records: the append-only merge ledger, and the pairs kept apart by an unmerge or
  the never-link list (never_link.py), kept apart by cannot_link.py;
- what the next run's increment builds on (increment.py): identity.records (every person record with its
  identifiers, erased with the raw rows), identity.profiles (Splink's input), identity.match_model (the model the
  last full resolution trained), identity.resolved_files (each file's SHA-256 and record count).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pyarrow as pa

from pipeline.identity.cannot_link import Split, split_pairs
from pipeline.identity.changes import log_customer_changes, table_columns, trust_changed
from pipeline.identity.config import IdentityConfig
from pipeline.identity.deterministic import build_identifiers, connected_components, identifier_groups
from pipeline.identity.increment import (
    MODEL_DDL,
    RESOLVED_FILES_DDL,
    add_linked_customers,
    neighbourhood_records,
    plan_resolution,
    state_fingerprint,
)
from pipeline.identity.key_format import KEY_PREFIX
from pipeline.identity.keys import assign_keys
from pipeline.identity.masked_phone import RULE as MASKED_PHONE
from pipeline.identity.masked_phone import masked_phone_edges
from pipeline.identity.matching import (
    MatchingError,
    build_profiles,
    mark_accepted,
    match_new_profiles,
    match_profiles,
)
from pipeline.identity.never_link import (
    ensure_tables,
    record_merges,
    restored_previous_keys,
    take_config_pairs,
)
from pipeline.identity.records import build_records
from pipeline.identity.work_db import WORK_DB, identity_workspace, unordered
from pipeline.warehouse_tables import transaction

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
        stage_seconds json, changed_customers bigint, mode varchar, mode_reason varchar, resolved_records bigint,
        state_fingerprint varchar, merges bigint, unmerges bigint, kept_apart bigint, matching_plan json)""",
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
    mode: str = "full"  # or "increment" (increment.py)
    mode_reason: str = ""
    resolved_records: int = 0  # the records this run resolved: all of them, or an increment's neighbourhood
    linked_customers: int = 0  # customers an increment's matches reached, brought in unchanged
    merges: int = 0  # earlier customers merged into another (identity.merges)
    unmerges: int = 0  # retired keys given back by an unmerge or never-link entry
    kept_apart: int = 0  # customers split because they held both sides of a never-link pair
    # the comparisons and rules a full resolution chose for this data, and what it left out (model_plan.py)
    matching_plan: dict = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)


def _previous_keys(con: duckdb.DuckDBPyConnection, config: IdentityConfig) -> None:
    """Workspace tables `identity_previous_keys` (record_id, customer_key): this run's records keyed last run, and
    `identity_voting_keys`: the same but for the records an unmerge gives back to their former key (never_link.py)."""
    source = (
        """select r.record_id, l.customer_key
        from identity_records r
        join identity.record_links l using (source_name, source_file, source_row_number)"""
        if table_columns(con, "identity", "record_links")
        else "select null::bigint as record_id, null::varchar as customer_key limit 0"
    )
    con.execute(f"create or replace table {WORK_DB}.identity_previous_keys as {source}")
    con.execute(
        f"""create or replace table {WORK_DB}.identity_voting_keys as
        {restored_previous_keys("identity_previous_keys", config.never_link)}"""
    )


def resolve_identities(
    con: duckdb.DuckDBPyConnection, config: IdentityConfig, run_id: str, now: datetime, reuse_model: bool = False
) -> IdentitySummary:
    """Resolve every person record to a customer key and write the identity schema (see the module's doc).

    A run that only adds files resolves only the records they can touch (increment.py). reuse_model: a full
    resolution scores with the last trained model instead of training one (what an increment is compared with).
    The working tables live in the identity workspace (work_db.py) while it runs; a caller that wants to read them
    afterwards (identity_records: every record this run resolved) holds one open around the call.
    """
    with identity_workspace(con):
        return _resolve(con, config, run_id, now, reuse_model)


def _resolve(
    con: duckdb.DuckDBPyConnection, config: IdentityConfig, run_id: str, now: datetime, reuse_model: bool
) -> IdentitySummary:
    summary = IdentitySummary()
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        summary.stage_seconds[stage] = round(time.perf_counter() - clock, 3)
        clock = time.perf_counter()

    for statement in DDL:
        con.execute(statement)
    ensure_tables(con)
    take_config_pairs(con, config.never_link, now)
    fingerprint = state_fingerprint(config)
    plan = plan_resolution(con, config, fingerprint, now)
    summary.mode = "increment" if plan.incremental else "full"
    summary.mode_reason = plan.reason
    log.info("identity: %s resolution (%s)", summary.mode, plan.reason)
    if plan.incremental:
        build_records(con, f"{WORK_DB}.identity_new_records", files="identity_new_files")
        neighbourhood_records(con, list(config.identifiers))
        known_shared = "identity.shared_identifiers"
    else:
        build_records(con)
        known_shared = None
    build_identifiers(con, list(config.identifiers), config.max_names_per_identifier, known_shared=known_shared)
    lap("records")
    identifier_groups(con)
    lap("identifier_groups")

    model = _match(con, config, plan.incremental, reuse_model, summary)
    rule_edges = "select null::bigint as group_id_l, null::bigint as group_id_r limit 0"
    if config.matching.enabled and config.matching.unique_masked_phone:
        masked_phone_edges(con)
        rule_edges = "select * from identity_rule_edges"
    con.execute(
        f"""create or replace table {WORK_DB}.identity_edges as
        select *, 'match' as rule from identity_match_edges
        union all by name
        select *, '{MASKED_PHONE}' as rule, true as accepted from ({rule_edges})"""
    )
    lap("matching")

    # Groups joined by accepted matches are one customer.
    try:
        connected_components(
            con,
            "select distinct group_id from identity_groups",
            "select distinct group_id_l, group_id_r from identity_edges where accepted",
            "group_id",
            into="identity_group_cc",
        )
    except duckdb.Error as error:
        [(edges,)] = con.sql("select count(*) from identity_edges where accepted").fetchall()
        raise MatchingError(
            f"identity clustering ({edges:,} accepted matches between identifier groups): {error}. A threshold "
            "closer to 1 (identity.matching.threshold) accepts fewer matches"
        ) from error
    con.execute(
        f"""create or replace table {WORK_DB}.identity_clusters as
        select g.record_id, g.group_id, c.cluster_id
        from identity_groups g join identity_group_cc c using (group_id)"""
    )
    kept = split_pairs(con, config.never_link)
    _apply_split(con, kept)
    summary.kept_apart = kept.customers
    if kept.customers:
        log.info("identity: %d customer(s) split to keep never-link pairs apart", kept.customers)
    lap("customers")

    issued_max = con.sql(
        "select coalesce(max(cast(substr(customer_key, ?) as bigint)), 0) from identity.customer_keys",
        params=[len(KEY_PREFIX) + 1],
    ).fetchall()[0][0]
    _previous_keys(con, config)
    assign_keys(con, "identity_clusters", "identity_voting_keys", issued_max)
    # Every key a cluster kept came from last run (or an unmerge gave it back), so the others are issued now.
    con.execute(
        f"""create or replace table {WORK_DB}.identity_new_keys as
        select customer_key from identity_key_map
        where customer_key not in (select customer_key from identity_voting_keys)"""
    )
    [(summary.new_keys,)] = con.sql("select count(*) from identity_new_keys").fetchall()
    [(summary.retired_keys,)] = con.sql("select count(*) from identity_retired").fetchall()
    [(summary.resolved_records,)] = con.sql("select count(*) from identity_records").fetchall()
    lap("keys")

    with unordered(con):  # record_links is a set: no order to keep while writing millions of rows
        _write(con, config, run_id, now, summary, plan.incremental, fingerprint, model)
    lap("write")
    con.execute("update identity.runs set stage_seconds = ? where run_id = ?", [summary.stage_seconds, run_id])
    return summary


def _match(con, config: IdentityConfig, incremental: bool, reuse_model: bool, summary: IdentitySummary) -> dict | None:
    """Workspace table `identity_match_edges` (Splink's scored pairs); the model trained, when a full resolution
    trained one. An increment scores its profiles with the saved model and brings in the customers they reach."""
    if not config.matching.enabled:
        summary.matching_skipped = match_profiles(con, config.matching.seed, False).skipped
        mark_accepted(con, config.matching.threshold)
        return None
    build_profiles(con)
    saved = con.sql("select model from identity.match_model").fetchall() if incremental or reuse_model else []
    model = json.loads(saved[0][0]) if saved else None
    if not incremental:
        matching = config.matching
        result = match_profiles(con, matching.seed, True, model, matching.comparisons, matching.blocking_rules)
        summary.matching_skipped = result.skipped
        summary.matching_plan = result.plan
        mark_accepted(con, config.matching.threshold)
        return result.model
    con.execute(
        f"""create or replace table {WORK_DB}.identity_known_profiles as
        select * from identity.profiles
        where group_id not in (select identifier_group from identity_replaced_groups)"""
    )
    match_new_profiles(con, model, "identity_known_profiles")
    mark_accepted(con, config.matching.threshold)
    summary.linked_customers = add_linked_customers(con)
    # the linked customers' identifiers, for their links' evidence (linked_by)
    build_identifiers(
        con, list(config.identifiers), config.max_names_per_identifier, known_shared="identity.shared_identifiers"
    )
    return model


def _apply_split(con: duckdb.DuckDBPyConnection, split: Split) -> None:
    """The never-link pairs kept: split customers' records in their new clusters, the matches refused no longer
    accepted (this module is the one writer of identity_clusters and identity_edges)."""
    if split.clusters is not None:
        con.register("identity_split", split.clusters)
        try:
            con.execute(
                """update identity_clusters c set cluster_id = s.cluster_id
                from identity_split s where c.record_id = s.record_id"""
            )
        finally:
            con.unregister("identity_split")
    if split.refused_edges is not None:
        con.register("identity_refused", split.refused_edges)
        try:
            con.execute(
                """update identity_edges e set accepted = false from identity_refused r
                where e.group_id_l = r.group_id_l and e.group_id_r = r.group_id_r"""
            )
        finally:
            con.unregister("identity_refused")


def _links_query() -> str:
    """The record links of this run's clusters (every record in a full run, the neighbourhood's in an increment)."""
    return """with shared_values as (
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
                   c.group_id as identifier_group, r.observed_at, ? as run_id, r.record_id
            from identity_clusters c
            join identity_records r using (record_id)
            join identity_key_map k using (cluster_id)
            left join linked_by l using (record_id)
            left join best_match m using (group_id)"""


def _write(con, config, run_id, now, summary, incremental, fingerprint, model) -> None:
    trust = pa.table(
        {
            "source_name": config.survivorship.source_trust,
            "trust_rank": list(range(1, len(config.survivorship.source_trust) + 1)),
        }
    )
    con.register("identity_trust", trust)
    try:
        with transaction(con):
            if incremental:
                _write_increment(con, config, run_id, now, summary)
            else:
                _write_full(con, config, run_id, now, summary, model)
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
            [(run_seq,)] = con.execute(
                """select coalesce(max(run_seq) filter (where run_id = ?), max(run_seq) + 1, 1)
                from identity.customer_changes""",
                [run_id],
            ).fetchall()
            summary.merges, summary.unmerges = record_merges(con, config.never_link, run_id, run_seq, now)
            _count_totals(con, summary)
            con.execute(
                """insert into identity.runs (run_id, resolved_at, records, identified_records, identifier_groups,
                    profiles, accepted_matches, customers, new_keys, retired_keys, shared_identifiers, matching_skipped,
                    stage_seconds, changed_customers, mode, mode_reason, resolved_records, state_fingerprint, merges,
                    unmerges, kept_apart, matching_plan)
                values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
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
                    summary.mode,
                    summary.mode_reason,
                    summary.resolved_records,
                    fingerprint,
                    summary.merges,
                    summary.unmerges,
                    summary.kept_apart,
                    json.dumps(summary.matching_plan, ensure_ascii=False) if summary.matching_plan else None,
                ],
            )
    finally:
        con.unregister("identity_trust")


# An identifier group's customer; a group a never-link pair split spans two, and its edges name the smaller key.
GROUP_KEYS = "select identifier_group, min(customer_key) as customer_key from {links} group by identifier_group"


def _write_full(con, config, run_id, now, summary, model) -> None:
    # Written beside last run's links first: the customers whose links differ are logged, then it replaces them.
    con.execute(f"create or replace table identity.record_links_next as {_links_query()}", [run_id])
    summary.changed_customers = log_customer_changes(
        con, "identity.record_links_next", run_id, now, trust_changed(con, config.survivorship.source_trust)
    )
    con.execute("drop table if exists identity.record_links")
    con.execute("alter table identity.record_links_next rename to record_links")
    con.execute(
        f"""create or replace table identity.match_edges as
        select e.*, kl.customer_key as customer_key_l, kr.customer_key as customer_key_r
        from identity_edges e
        left join ({GROUP_KEYS.format(links="identity.record_links")}) kl on kl.identifier_group = e.group_id_l
        left join ({GROUP_KEYS.format(links="identity.record_links")}) kr on kr.identifier_group = e.group_id_r"""
    )
    con.execute(
        "create or replace table identity.shared_identifiers as select *, ? as run_id from identity_shared",
        [run_id],
    )
    # What an increment builds on: every record, every profile, the model, the files resolved.
    con.execute("create or replace table identity.records as select * from identity_records")
    if config.matching.enabled:
        con.execute("create or replace table identity.profiles as select * from identity_profiles")
    else:
        con.execute("drop table if exists identity.profiles")
    con.execute(MODEL_DDL)
    con.execute("delete from identity.match_model")
    if model is not None:
        con.execute("insert into identity.match_model values (?, ?, ?)", [run_id, now, json.dumps(model)])
    con.execute("drop table if exists identity.resolved_files")
    con.execute(RESOLVED_FILES_DDL)
    con.execute(
        """insert into identity.resolved_files
        select source_name, source_file, any_value(source_file_sha256), count(*) from identity_records group by all"""
    )


LINKED_GROUPS = "select identifier_group from identity_linked_records"


def _write_increment(con, config, run_id, now, summary) -> None:
    """Replace the links, profiles and matches of the neighbourhood's customers; everything else stays."""
    con.execute(f"create or replace table identity.record_links_increment as {_links_query()}", [run_id])
    replaced = "select customer_key from identity_touched union select customer_key from identity_linked"
    summary.changed_customers = log_customer_changes(
        con, "identity.record_links_increment", run_id, now, False, previous_customers=replaced
    )
    con.execute(f"delete from identity.record_links where customer_key in ({replaced})")
    con.execute("insert into identity.record_links by name select * from identity.record_links_increment")
    # Matches: the old groups' scores were made again; the linked customers' own matches and every masked-phone
    # link in the neighbourhood were computed again; the linked customers' unaccepted pairs with others stay.
    con.execute(
        f"""delete from identity.match_edges
        where group_id_l in (select identifier_group from identity_replaced_groups)
           or group_id_r in (select identifier_group from identity_replaced_groups)
           or (group_id_l in ({LINKED_GROUPS}) and group_id_r in ({LINKED_GROUPS}))
           or (rule = '{MASKED_PHONE}' and (group_id_l in ({LINKED_GROUPS}) or group_id_r in ({LINKED_GROUPS})))"""
    )
    con.execute("insert into identity.match_edges by name select * from identity_edges")
    for side in ("l", "r"):
        con.execute(
            f"""update identity.match_edges e set customer_key_{side} = k.customer_key
            from ({GROUP_KEYS.format(links="identity.record_links_increment")}) k
            where e.group_id_{side} = k.identifier_group"""
        )
    con.execute("drop table identity.record_links_increment")
    con.execute(
        """insert into identity.shared_identifiers by name
        select *, ? as run_id from identity_shared
        where (id_type, id_value) not in (select (id_type, id_value) from identity.shared_identifiers)""",
        [run_id],
    )
    con.execute("insert into identity.records by name select * from identity_new_records")
    if config.matching.enabled:
        con.execute(
            "delete from identity.profiles where group_id in (select identifier_group from identity_replaced_groups)"
        )
        con.execute("insert into identity.profiles by name select * from identity_profiles")
    con.execute(
        """insert into identity.resolved_files
        select source_name, source_file, source_file_sha256, records
        from identity_raw_files semi join identity_new_files using (source_name, source_file)"""
    )


def _count_totals(con, summary) -> None:
    """The whole identity's counts (an increment resolved only part of it)."""
    [(summary.records,)] = con.sql("select count(*) from identity.records").fetchall()
    [(summary.identified_records, summary.identifier_groups, summary.customers)] = con.sql(
        "select count(*), count(distinct identifier_group), count(distinct customer_key) from identity.record_links"
    ).fetchall()
    if table_columns(con, "identity", "profiles"):
        [(summary.profiles,)] = con.sql("select count(*) from identity.profiles").fetchall()
    [(summary.accepted_matches,)] = con.sql("select count(*) from identity.match_edges where accepted").fetchall()
    [(summary.shared_identifiers,)] = con.sql("select count(*) from identity.shared_identifiers").fetchall()
