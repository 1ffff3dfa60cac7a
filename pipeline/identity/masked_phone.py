"""The masked-phone rule: a nameless record with a full mobile number joins the one customer it can be.

Marketplaces show a buyer's mobile as 138****1234; the service line, a survey or a store sees the whole
number but no name. Splink's pairwise score cannot join them (a masked number alone is weak evidence between
two random profiles), yet when exactly one customer carries that masked number the record has nowhere else
to go. The rule is off-able (`identity.matching.unique_masked_phone`): the chance that another, unseen person
shares the masked number grows with the customer count (about N / 400,000 of patterns are shared at N
customers), and identity.match_edges keeps every link it made.
"""

from __future__ import annotations

import duckdb

from pipeline.identity.deterministic import connected_components
from pipeline.identity.work_db import WORK_DB

RULE = "masked_phone"


def masked_phone_edges(con: duckdb.DuckDBPyConnection) -> None:
    """Workspace table `identity_rule_edges` (group_id_l, group_id_r, source_l, source_r, name_l, name_r,
    phone_pattern) of the masked-phone rule, given `identity_match_edges` (its accepted pairs).

    A nameless identifier group whose full numbers all mask to one pattern is linked to the groups holding
    that pattern as a masked number, when those groups are one customer after the Splink matches (a Tmall
    and a PDD profile of one buyer count once) and none of them has its own, different full number with
    that pattern (then the masked number is that number, not ours).
    """
    connected_components(
        con,
        "select distinct group_id from identity_groups",
        "select group_id_l, group_id_r from identity_match_edges where accepted",
        "group_id",
        into="identity_splink_cc",
    )
    try:
        con.execute(
            f"""create or replace table {WORK_DB}.identity_rule_edges as
            with grouped as (
                select g.group_id, r.*
                from identity_groups g join identity_records r using (record_id)
            ),
            nameless as (
                select group_id, min(phone_pattern) as phone_pattern, min(source_name) as source_name
                from grouped
                group by group_id
                having count(name) = 0 and count(phone) > 0
                   and count(distinct phone_pattern) = 1 and count(*) filter (where phone is null
                       and phone_pattern is not null) = 0
            ),
            holders as (
                select group_id, phone_pattern, min(source_name) as source_name, min(name) as name,
                       bool_or(phone is not null) as has_full_number
                from grouped
                where phone_pattern is not null
                group by group_id, phone_pattern
            ),
            candidates as (
                select n.group_id as nameless_group, n.source_name as nameless_source, n.phone_pattern,
                       h.group_id, h.source_name, h.name, h.has_full_number, cc.cluster_id
                from nameless n
                join holders h on h.phone_pattern = n.phone_pattern and h.group_id != n.group_id
                join identity_splink_cc cc on cc.group_id = h.group_id
            ),
            unique_holder as (
                select nameless_group from candidates
                group by nameless_group
                having count(distinct cluster_id) = 1 and not bool_or(has_full_number)
            )
            select least(nameless_group, group_id) as group_id_l, greatest(nameless_group, group_id) as group_id_r,
                   case when nameless_group < group_id then nameless_source else source_name end as source_l,
                   case when nameless_group < group_id then source_name else nameless_source end as source_r,
                   case when nameless_group < group_id then null else name end as name_l,
                   case when nameless_group < group_id then name end as name_r,
                   phone_pattern
            from candidates semi join unique_holder using (nameless_group)"""
        )
    finally:
        con.execute("drop table if exists identity_splink_cc")
