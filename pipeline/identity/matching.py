"""Probabilistic matching (Splink on DuckDB) between the identifier groups that share no identifier.

The unit compared is a profile: an identifier group's record as one source saw it (name, masked phone, e-mail,
birth date, city, address, ...: the attributes of model_plan.PROFILE_COLUMNS). A group keeps its
TUPLES_PER_PROFILE most frequent distinct combinations per source, so three records of one person with three typos
are three chances to meet another group, not one averaged record. Which attributes are compared and how pairs
are blocked follows from what the company's data carries (model_plan.py).

Training: the prior P(two random profiles are one person) from deterministic rules of the present attributes,
kept inside PRIOR_BOUNDS; u probabilities from random pairs; m probabilities from the profiles of groups seen by
two sources (known to be one person: `estimate_m_from_label_column`) when there are at least MIN_LABELLED of
them, else by expectation maximisation on blocking rules of the present attributes, as Splink documents. Data too
thin for either is resolved by its identifiers alone, with a note. Pairs scoring at least the configured
threshold join their groups.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import duckdb
from splink import Linker, SettingsCreator, block_on

from pipeline.identity.attributes import PROFILE_COLUMNS
from pipeline.identity.model_plan import EM_CANDIDATES, ModelPlan, plan_model
from pipeline.identity.work_db import WORK_DB, splink_db_api

log = logging.getLogger(__name__)

# Pairs scoring at least this are kept as evidence in identity.match_edges even when below the threshold.
EVIDENCE_FLOOR = 0.5
# The prior is kept inside (0, 1): Splink's match weight is its log-odds, undefined at either end.
PRIOR_BOUNDS = (1e-9, 0.5)
# Groups seen by two sources needed to learn the m probabilities from them (estimate_m_from_label_column).
MIN_LABELLED = 10
SOURCES_PER_GROUP = 64
TUPLES_PER_PROFILE = 8  # distinct attribute combinations kept per group and source, the most frequent first
# A profile's unique_id: (group_id * SOURCES_PER_GROUP + the source's ordinal) * TUPLES_PER_PROFILE + its rank - 1
UNIQUE_ID = f"(group_id * {SOURCES_PER_GROUP} + source_ordinal) * {TUPLES_PER_PROFILE} + tuple_rank - 1"


class MatchingError(RuntimeError):
    """A stage of the matching failed: names the stage, the attributes and rules involved and what to change."""


def build_profiles(con: duckdb.DuckDBPyConnection, records: str = "identity_records") -> int:
    """Workspace table `identity_profiles`: per identifier group and source, the TUPLES_PER_PROFILE most frequent
    distinct combinations of the attributes of the records that carry a name (ties to the smallest). Returns how
    many.

    Names are compared lower-cased (Julia / JULIA). The ranking window runs over the distinct combinations, not
    the records, which grouping has already reduced.
    """
    attributes = ", ".join(c for c in PROFILE_COLUMNS if c != "name")
    carried = {row[0] for row in con.sql(f"describe {records}").fetchall()}

    def value(column: str) -> str:
        if column not in carried:  # a records table without the attribute (a hand-built one in the unit tests)
            return f"null::varchar as {column}"
        return f"lower(r.{column}) as {column}" if column in ("name", "first_name", "last_name") else f"r.{column}"

    con.execute(
        f"""create or replace table {WORK_DB}.identity_profiles as
            with named as (
                select g.group_id, r.source_name, {", ".join(value(c) for c in PROFILE_COLUMNS)}
                from {records} r join identity_groups g using (record_id)
                where r.name is not null
            ),
            combinations as (
                select group_id, source_name, name, {attributes}, count(*) as n
                from named group by all
            ),
            ranked as (
                select *, row_number() over (
                    partition by group_id, source_name order by n desc, name, {attributes} nulls last
                ) as tuple_rank
                from combinations
            ),
            sources as (
                select source_name, row_number() over (order by source_name) as source_ordinal
                from (select distinct source_name from ranked)
            )
            select case when s.source_ordinal < {SOURCES_PER_GROUP} then {UNIQUE_ID}
                        else error('more than {SOURCES_PER_GROUP - 1} sources') end as unique_id,
                   p.group_id, p.source_name, p.tuple_rank, p.name, {", ".join(f"p.{c}" for c in PROFILE_COLUMNS[1:])}
            from ranked p join sources s using (source_name)
            where p.tuple_rank <= {TUPLES_PER_PROFILE}
            order by unique_id"""
    )
    return con.sql("select count(*) from identity_profiles").fetchall()[0][0]


def _settings(plan: ModelPlan) -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=plan.splink_comparisons(),
        blocking_rules_to_generate_predictions=[block_on(*rule) for rule in plan.blocking_rules],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=True,  # with the gamma (level) columns the edges keep
    )


# identity_match_edges: per pair of groups and their sources, the best-scoring pair of their profiles
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
    # the level each comparison found, {"name": 3, "birth_date": 5, ...} (Splink's gamma values; -1 = null)
    "comparison_levels": "json",
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
    plan: dict = field(default_factory=dict)  # the comparisons and rules chosen, and why (ModelPlan.describe)


def match_profiles(
    con: duckdb.DuckDBPyConnection,
    seed: int,
    matching_enabled: bool = True,
    model: dict | None = None,
    comparisons: list[str] | None = None,
    blocking_rules: list[list[str]] | None = None,
) -> MatchResult:
    """Workspace table `identity_match_edges`: pairs of profiles from different groups scoring >= EVIDENCE_FLOOR.

    Reads `identity_profiles` (build_profiles); the table is created empty when matching is off or has nothing to
    learn from, and the result says why. With `model` (a trained one), scores without training. `comparisons` and
    `blocking_rules`: identity.matching's, replacing the ones chosen from the data (model_plan.py).
    """
    if not matching_enabled:
        _create_edges(con, None)
        return MatchResult(0, "identity.matching.enabled is false")
    profiles, labelled = con.sql(
        "select count(*), count(distinct (group_id, source_name)) - count(distinct group_id) from identity_profiles"
    ).fetchall()[0]
    plan = None
    if model is None:
        try:
            plan = plan_model(con, comparisons, blocking_rules, train_by_em=labelled < MIN_LABELLED)
        except ValueError as error:
            raise MatchingError(f"identity matching, planning: {error}") from error
        except duckdb.Error as error:
            raise MatchingError(
                f"identity matching, blocking (counting the pairs each candidate rule yields over {profiles:,} "
                f"profiles): {error}. Name the rules in identity.matching.blocking_rules"
            ) from error
        too_thin = _too_thin(plan, labelled)
        if too_thin:
            _create_edges(con, None)
            return MatchResult(profiles, too_thin, plan=plan.describe())
    with splink_db_api(con) as db_api:
        registered = db_api.register("identity_profiles", table_name="profiles")
        linker = Linker(registered, model or _settings(plan), log_level=logging.WARNING)
        if plan is not None:
            _train(linker, plan, seed)
        try:
            predictions = linker.inference.predict(threshold_match_probability=EVIDENCE_FLOOR)
        except Exception as error:
            settings = linker.misc.save_model_to_json()
            rules = [r["blocking_rule"] for r in settings["blocking_rules_to_generate_predictions"]]
            raise MatchingError(
                f"identity matching, prediction (blocking rules {'; '.join(rules)}): {error}. Name fewer or more "
                "selective rules in identity.matching.blocking_rules"
            ) from error
        model = linker.misc.save_model_to_json()
        _create_edges(con, _edges_sql(predictions.physical_name, "identity_profiles", _comparison_names(model)))
    return MatchResult(profiles, model=model, plan=plan.describe() if plan else {})


def _too_thin(plan: ModelPlan, labelled: int) -> str | None:
    """Why the data is too thin to train on, or None."""
    if labelled < MIN_LABELLED and not plan.em_rules:
        return (
            f"training: only {labelled} profiles share a group with another source's, and no rule expectation "
            "maximisation could train on ("
            + "; ".join(" + ".join(rule) for rule in EM_CANDIDATES)
            + ") finds two profiles alike: nothing to learn from"
        )
    if not plan.prior_rules:
        return (
            "training: no deterministic rule of the attributes present finds two profiles alike, so P(two profiles "
            "are one person) cannot be estimated; customers are resolved by shared identifiers only"
        )
    if not plan.blocking_rules:
        return "blocking: no blocking rule of the attributes present finds a pair of profiles to score"
    return None


def _train(linker: Linker, plan: ModelPlan, seed: int) -> None:
    """The prior, u and m probabilities, each stage's failure named with the attributes and rules it used."""
    stage = "prior"
    try:
        linker.training.estimate_probability_two_random_records_match(
            [block_on(*rule) for rule in plan.prior_rules], recall=plan.prior_recall
        )
        _bound_prior(linker)
        stage = "u probabilities"
        linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
        if plan.em_rules:
            for rule in plan.em_rules:
                stage = f"expectation maximisation on {' + '.join(rule)}"
                linker.training.estimate_parameters_using_expectation_maximisation(
                    block_on(*rule), estimate_without_term_frequencies=True
                )
        else:
            stage = "m probabilities from the groups seen by two sources"
            linker.training.estimate_m_from_label_column("group_id")
    except Exception as error:
        raise MatchingError(
            f"identity matching, training ({stage}; comparisons {', '.join(plan.comparisons)}): {error}. Name the "
            "comparisons to use in identity.matching.comparisons, or turn identity.matching.enabled off"
        ) from error


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
        select {UNIQUE_ID} as unique_id, p.* exclude (unique_id)
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
    names = _comparison_names(model)
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
            columns = ", ".join(_pair_columns(names))
            pairs = " union all ".join(f"select {columns} from {p.physical_name}" for p in scored)
            _create_edges(con, _edges_sql(f"({pairs})", "identity_all_profiles", names))
    for table in ("identity_all_profiles", "identity_new_profiles", "identity_old_profiles"):
        con.execute(f"drop table {table}")


def _comparison_names(model: dict) -> list[str]:
    return [comparison["output_column_name"] for comparison in model["comparisons"]]


def _tf_columns(model: dict) -> list[str]:
    return sorted(
        {
            level["tf_adjustment_column"]
            for comparison in model["comparisons"]
            for level in comparison["comparison_levels"]
            if level.get("tf_adjustment_column")
        }
    )


def _pair_columns(comparisons: list[str]) -> list[str]:
    """The columns of a scored pair that make an edge."""
    return ["unique_id_l", "unique_id_r", "match_probability", "match_weight", *(f"gamma_{c}" for c in comparisons)]


def _edges_sql(predictions: str, profiles: str, comparisons: list[str]) -> str:
    # Oriented by group id; of the pairs of two groups' profiles (several combinations each), the best-scoring.
    levels = ", ".join(f"'{c}', p.gamma_{c}" for c in comparisons)
    return f"""with scored as (
                   select least(l.group_id, r.group_id) as group_id_l, greatest(l.group_id, r.group_id) as group_id_r,
                          case when l.group_id < r.group_id then l.source_name else r.source_name end as source_l,
                          case when l.group_id < r.group_id then r.source_name else l.source_name end as source_r,
                          case when l.group_id < r.group_id then l.name else r.name end as name_l,
                          case when l.group_id < r.group_id then r.name else l.name end as name_r,
                          case when l.group_id < r.group_id then l.phone_pattern else r.phone_pattern end
                              as phone_pattern,
                          p.match_probability, p.match_weight, json_object({levels}) as comparison_levels,
                          least(p.unique_id_l, p.unique_id_r) as low_id,
                          greatest(p.unique_id_l, p.unique_id_r) as high_id
                   from {predictions} p
                   join {profiles} l on l.unique_id = p.unique_id_l
                   join {profiles} r on r.unique_id = p.unique_id_r
                   where l.group_id != r.group_id
               )
               select * exclude (low_id, high_id) from scored
               qualify row_number() over (
                   partition by group_id_l, group_id_r, source_l, source_r
                   order by match_probability desc, low_id, high_id
               ) = 1"""
