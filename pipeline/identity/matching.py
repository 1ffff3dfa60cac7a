"""Probabilistic matching (Splink on DuckDB) between the identifier groups that share no identifier.

The unit compared is a profile: an identifier group's record as one source saw it (its most frequent
name, masked phone, city, address, e-mail). Two profiles of one group are known to be one person, so the
m probabilities are learnt from them (`estimate_m_from_label_column`) and the u probabilities from random
pairs: the model is trained on each company's own data, with no labels to supply. Pairs scoring at least
the configured threshold join their groups.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on

from pipeline.identity.work_db import WORK_DB, splink_db_api

log = logging.getLogger(__name__)

PROFILE_COLUMNS = ["name", "phone_pattern", "phone", "city", "address"]
# Pairs scoring at least this are kept as evidence in identity.match_edges even when below the threshold.
EVIDENCE_FLOOR = 0.5
# Deterministic rules the prior P(two random profiles are one person) is estimated on, most specific first: the
# first that finds a pair of profiles is used (name + phone pattern wherever phones are exported); without phones,
# every other rule that finds one. None finding a pair: too thin to train on.
PRIOR_RULES = (("name", "phone_pattern"), ("name", "city", "address"), ("name", "address"), ("name", "city"))
PRIOR_RECALL = 0.9  # the share of true pairs those rules are taken to find
# The prior is kept inside (0, 1): Splink's match weight is its log-odds, undefined at either end.
PRIOR_BOUNDS = (1e-9, 0.5)
# Groups seen by two sources needed to learn the m probabilities from them (estimate_m_from_label_column).
MIN_LABELLED = 10
# With fewer (one source: a CRM with duplicate contacts), expectation maximisation as Splink documents it: each
# blocking rule trains the comparisons it does not block on, so name + city trains phone and address, and the
# first present of phone pattern and address trains name and city.
EM_FIRST_RULE = ("name", "city")
EM_SECOND_RULES = (("phone_pattern",), ("address",))
SOURCES_PER_GROUP = 64  # a profile's unique_id is group_id * 64 + the source's ordinal


def build_profiles(con: duckdb.DuckDBPyConnection, records: str = "identity_records") -> int:
    """Workspace table `identity_profiles`: one profile per identifier group and source, from the records that carry
    a name. Returns how many.

    Each value is the group's most frequent one in that source, ties to the smallest: DuckDB's mode() breaks
    ties by whatever order parallel threads deliver, and a profile must not change between two runs. Written
    with grouping and joins only (no ordered aggregate, no window over all records): DuckDB can spill those
    to disk within its memory_limit.
    """
    unpivoted = " union all ".join(
        f"select group_id, source_name, '{c}' as col, {c} as value from named where {c} is not null"
        for c in PROFILE_COLUMNS
    )
    pivoted = ", ".join(f"max(value) filter (where col = '{c}') as {c}" for c in PROFILE_COLUMNS)
    con.execute(
        f"""create or replace table {WORK_DB}.identity_profiles as
            with named as (
                select g.group_id, r.* exclude (record_id)
                from {records} r join identity_groups g using (record_id)
                where r.name is not null
            ),
            counted as (
                select group_id, source_name, col, value, count(*) as n
                from ({unpivoted}) group by all
            ),
            most as (
                select group_id, source_name, col, max(n) as n from counted group by all
            ),
            modes as (
                select group_id, source_name, col, min(value) as value
                from counted join most using (group_id, source_name, col, n)
                group by all
            ),
            profiles as (
                select group_id, source_name, {pivoted} from modes group by group_id, source_name
            ),
            sources as (
                select source_name, row_number() over (order by source_name) as source_ordinal
                from (select distinct source_name from profiles)
            )
            select case when s.source_ordinal < {SOURCES_PER_GROUP} then p.group_id * {SOURCES_PER_GROUP} +
                        s.source_ordinal else error('more than {SOURCES_PER_GROUP - 1} sources') end as unique_id,
                   p.*
            from profiles p join sources s using (source_name)
            order by unique_id"""
    )
    return con.sql("select count(*) from identity_profiles").fetchall()[0][0]


def _settings() -> SettingsCreator:
    # Profiles of one group always agree on a full phone, so "same masked number" is where such pairs land
    # (a full number masks to its pattern) and the label training sees it. Levels those pairs cannot show
    # (two different full numbers, another city, another address) start from stated m values; the label
    # training overwrites them where the data has such pairs.
    phone = cl.CustomComparison(
        output_column_name="phone",
        comparison_levels=[
            cll.NullLevel("phone_pattern"),
            cll.CustomLevel(
                "phone_l is not null and phone_r is not null and phone_l != phone_r", "different full numbers"
            ).configure(m_probability=0.01),
            cll.ExactMatchLevel("phone_pattern").configure(label_for_charts="same masked number"),
            cll.ElseLevel().configure(m_probability=0.02),
        ],
    )
    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name"),
            cll.ExactMatchLevel("name").configure(tf_adjustment_column="name", tf_adjustment_weight=1.0),
            cll.JaroWinklerLevel("name", 0.88),
            cll.ElseLevel(),
        ],
    )
    city = cl.CustomComparison(
        output_column_name="city",
        comparison_levels=[
            cll.NullLevel("city"),
            cll.ExactMatchLevel("city"),
            cll.ElseLevel().configure(m_probability=0.05),
        ],
    )
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.NullLevel("address"),
            cll.ExactMatchLevel("address").configure(m_probability=0.7),
            cll.LevenshteinLevel("address", 3).configure(m_probability=0.1),
            cll.ElseLevel().configure(m_probability=0.2),
        ],
    )
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[name, phone, city, address],
        blocking_rules_to_generate_predictions=[block_on("phone_pattern"), block_on("name", "city")],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=True,
    )


# identity_match_edges: one row per scored pair of profiles from different groups
EDGE_COLUMNS = {
    "group_id_l": "bigint",
    "group_id_r": "bigint",
    "source_l": "varchar",
    "source_r": "varchar",
    "name_l": "varchar",
    "name_r": "varchar",
    "phone_pattern": "varchar",
    "match_probability": "double",
    "match_weight": "double",
    **{f"gamma_{c}": "integer" for c in ("name", "phone", "city", "address")},
}


def _create_edges(con: duckdb.DuckDBPyConnection, query: str | None) -> None:
    columns = ", ".join(f"cast({c} as {t}) as {c}" for c, t in EDGE_COLUMNS.items())
    source = f"({query})" if query else "(select " + ", ".join(f"null as {c}" for c in EDGE_COLUMNS) + " limit 0)"
    con.execute(f"create or replace table {WORK_DB}.identity_match_edges as select {columns} from {source}")


def mark_accepted(con: duckdb.DuckDBPyConnection, threshold: float) -> None:
    """identity_match_edges.accepted: whether a pair scores at least the configured threshold, so its groups are
    one customer. The one place a score meets the threshold; the masked-phone rule, the increment's reach and
    the edges kept read the column."""
    con.execute("alter table identity_match_edges add column if not exists accepted boolean")
    con.execute("update identity_match_edges set accepted = match_probability >= ?", [threshold])


def add_edges(con: duckdb.DuckDBPyConnection, rows: str) -> None:
    """Append scored pairs kept from an earlier run (the columns of identity.match_edges, by name) to
    `identity_match_edges`."""
    con.execute(f"insert into identity_match_edges by name {rows}")


@dataclass
class MatchResult:
    profiles: int
    skipped: str | None = None
    model: dict | None = None  # the trained Splink model (settings with its m and u), for increments to reuse


def match_profiles(
    con: duckdb.DuckDBPyConnection, seed: int, matching_enabled: bool = True, model: dict | None = None
) -> MatchResult:
    """Workspace table `identity_match_edges`: profile pairs from different groups scoring >= EVIDENCE_FLOOR.

    Reads `identity_profiles` (build_profiles); the table is created empty when matching is off or has
    nothing to learn from, and the result says why. With `model` (a trained one), scores without training.
    """
    if not matching_enabled:
        _create_edges(con, None)
        return MatchResult(0, "identity.matching.enabled is false")
    profiles, labelled = con.sql(
        "select count(*), count(*) - count(distinct group_id) from identity_profiles"
    ).fetchall()[0]
    if model is None:
        prior_rules, em_rules, too_thin = _training_plan(con, labelled)
        if too_thin:
            _create_edges(con, None)
            return MatchResult(profiles, too_thin)
    with splink_db_api(con) as db_api:
        registered = db_api.register("identity_profiles", table_name="profiles")
        linker = Linker(registered, model or _settings(), log_level=logging.WARNING)
        if model is None:
            linker.training.estimate_probability_two_random_records_match(
                [block_on(*rule) for rule in prior_rules], recall=PRIOR_RECALL
            )
            _bound_prior(linker)
            linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
            if em_rules:
                for rule in em_rules:
                    linker.training.estimate_parameters_using_expectation_maximisation(block_on(*rule))
            else:
                linker.training.estimate_m_from_label_column("group_id")
        predictions = linker.inference.predict(threshold_match_probability=EVIDENCE_FLOOR)
        _create_edges(con, _edges_sql(predictions.physical_name, "identity_profiles"))
        model = linker.misc.save_model_to_json()
    return MatchResult(profiles, model=model)


def _training_plan(
    con: duckdb.DuckDBPyConnection, labelled: int
) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]], str | None]:
    """The rules the prior is estimated on and, with fewer than MIN_LABELLED labelled profiles, the rules
    expectation maximisation trains on (else none: the labels train the m probabilities); or why the data is too
    thin to train on."""
    em_rules = _em_rules(con) if labelled < MIN_LABELLED else []
    if labelled < MIN_LABELLED and not em_rules:
        return (
            [],
            [],
            (
                f"training: only {labelled} profiles share a group, and no two profiles share a name and city and "
                "a phone pattern or address to train on without them: nothing to learn from"
            ),
        )
    prior_rules = _prior_rules(con)
    if not prior_rules:
        return (
            [],
            [],
            (
                "training: no deterministic rule of the attributes present ("
                + "; ".join(" + ".join(rule) for rule in PRIOR_RULES)
                + ") finds two profiles alike, so P(two profiles are one person) cannot be estimated; customers are "
                "resolved by shared identifiers only"
            ),
        )
    return prior_rules, em_rules, None


def _prior_rules(con: duckdb.DuckDBPyConnection) -> list[tuple[str, ...]]:
    """The PRIOR_RULES to estimate the prior on: the first that finds a pair of profiles, or, when that is not the
    phone rule, every one that finds a pair (Splink counts a pair two rules find once)."""
    found = []
    for rule in PRIOR_RULES:
        if _pairs(con, rule) > 0:
            if rule == PRIOR_RULES[0]:
                return [rule]
            found.append(rule)
    return found


def _em_rules(con: duckdb.DuckDBPyConnection) -> list[tuple[str, ...]]:
    """The blocking rules expectation maximisation trains on (EM_FIRST_RULE, then the first of EM_SECOND_RULES
    that finds a pair of profiles), or none when either finds no pair."""
    second = next((rule for rule in EM_SECOND_RULES if _pairs(con, rule) > 0), None)
    if second is None or _pairs(con, EM_FIRST_RULE) == 0:
        return []
    return [EM_FIRST_RULE, second]


def _pairs(con: duckdb.DuckDBPyConnection, rule: tuple[str, ...]) -> int:
    """Pairs of profiles equal on every column of `rule` (none null)."""
    present = " and ".join(f"{column} is not null" for column in rule)
    [(pairs,)] = con.sql(
        f"""select coalesce(sum(n * (n - 1) / 2), 0) from (
            select count(*) as n from identity_profiles where {present} group by {", ".join(rule)})"""
    ).fetchall()
    return int(pairs)


def _bound_prior(linker: Linker) -> None:
    """Keep the estimated prior inside PRIOR_BOUNDS. Splink 5 keeps it on the settings object, with no public
    setter after training."""
    settings = linker._settings_obj
    low, high = PRIOR_BOUNDS
    prior = settings._probability_two_random_records_match
    settings._probability_two_random_records_match = min(max(prior, low), high)


def match_new_profiles(con: duckdb.DuckDBPyConnection, model: dict, known_profiles: str) -> None:
    """Workspace table `identity_match_edges`: the pairs of `identity_profiles` (the profiles an increment built)
    among themselves and with `known_profiles` (every other profile, as last written), scored by `model` (the
    model the last full resolution trained), >= EVIDENCE_FLOOR.

    The same pairs and scores a full prediction with that model would give for these profiles: the blocking
    rules are the model's, and the name frequencies are counted over all profiles, old and new, as there.
    """
    con.execute(
        f"""create or replace table {WORK_DB}.identity_all_profiles as
        with profiles as (
            select *, true as is_new from identity_profiles
            union all by name
            select *, false as is_new from {known_profiles}
        ),
        sources as (
            select source_name, row_number() over (order by source_name) as source_ordinal
            from (select distinct source_name from profiles)
        )
        -- unique ids again over all profiles: an increment's new source would shift the ordinals
        select p.group_id * {SOURCES_PER_GROUP} + s.source_ordinal as unique_id, p.* exclude (unique_id)
        from profiles p join sources s using (source_name)"""
    )
    [(sources, new_count, old_count)] = con.sql(
        """select count(distinct source_name), count(*) filter (where is_new), count(*) filter (where not is_new)
        from identity_all_profiles"""
    ).fetchall()
    if sources >= SOURCES_PER_GROUP:
        raise ValueError(f"more than {SOURCES_PER_GROUP - 1} sources")
    for table, where in (("identity_new_profiles", "is_new"), ("identity_old_profiles", "not is_new")):
        con.execute(f"create or replace table {WORK_DB}.{table} as from identity_all_profiles where {where}")
    if not new_count:  # nothing named among the new records and those they touch: nothing to score
        _create_edges(con, None)
    else:
        with splink_db_api(con) as db_api:
            everyone = db_api.register("identity_all_profiles", table_name="profiles")
            linker = Linker(everyone, model, log_level=logging.WARNING)
            new = db_api.register("identity_new_profiles", table_name="new_profiles")
            for column in _tf_columns(model):
                linker.table_management.compute_tf_table(column)
            scored = [
                linker.inference.predict_within(new, threshold_match_probability=EVIDENCE_FLOOR, warning_mode="never")
            ]
            if old_count:
                old = db_api.register("identity_old_profiles", table_name="old_profiles")
                scored.append(
                    linker.inference.predict_between(
                        old, new, threshold_match_probability=EVIDENCE_FLOOR, warning_mode="never"
                    )
                )
            pairs = " union all ".join(f"select {', '.join(PAIR_COLUMNS)} from {p.physical_name}" for p in scored)
            _create_edges(con, _edges_sql(f"({pairs})", "identity_all_profiles"))
    for table in ("identity_all_profiles", "identity_new_profiles", "identity_old_profiles"):
        con.execute(f"drop table {table}")


def _tf_columns(model: dict) -> list[str]:
    return sorted(
        {
            level["tf_adjustment_column"]
            for comparison in model["comparisons"]
            for level in comparison["comparison_levels"]
            if level.get("tf_adjustment_column")
        }
    )


# The columns of a scored pair that make an edge (with unique_id_l, unique_id_r).
PAIR_COLUMNS = [
    "unique_id_l",
    "unique_id_r",
    "name_l",
    "name_r",
    "phone_pattern_l",
    "phone_pattern_r",
    "match_probability",
    "match_weight",
    *(f"gamma_{c}" for c in ("name", "phone", "city", "address")),
]


def _edges_sql(predictions: str, profiles: str) -> str:
    # Oriented by unique id, as a full prediction returns its pairs (an increment's old-new pairs come either way).
    return f"""with oriented as (
                   select {", ".join(PAIR_COLUMNS)} from {predictions} where unique_id_l < unique_id_r
                   union all
                   select unique_id_r, unique_id_l, name_r, name_l, phone_pattern_r, phone_pattern_l,
                          match_probability, match_weight, gamma_name, gamma_phone, gamma_city, gamma_address
                   from {predictions} where unique_id_l > unique_id_r
               )
               select least(l.group_id, r.group_id) as group_id_l, greatest(l.group_id, r.group_id) as group_id_r,
                      l.source_name as source_l, r.source_name as source_r,
                      p.name_l, p.name_r, p.phone_pattern_l as phone_pattern,
                      p.match_probability, p.match_weight,
                      p.gamma_name, p.gamma_phone, p.gamma_city, p.gamma_address
               from oriented p
               join {profiles} l on l.unique_id = p.unique_id_l
               join {profiles} r on r.unique_id = p.unique_id_r
               where l.group_id != r.group_id"""
