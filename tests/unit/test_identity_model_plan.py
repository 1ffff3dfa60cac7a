"""Which comparisons and rules the matching chooses from the attributes a company's data carries
(pipeline/identity/model_plan.py), and what a setting naming them does."""

import duckdb
import pytest

from pipeline.identity import model_plan
from pipeline.identity.attributes import PROFILE_COLUMNS
from pipeline.identity.config import MatchingConfig
from pipeline.identity.matching import MatchingError, match_profiles
from pipeline.identity.model_plan import plan_model
from pipeline.identity.work_db import WORK_DB, identity_workspace


def _profiles(con, rows: list[dict]) -> None:
    """identity_profiles of `rows` (attribute -> value), one group each unless `group_id` is given."""
    columns = ", ".join(f"{c} varchar" for c in PROFILE_COLUMNS)
    con.execute(
        f"""create or replace table {WORK_DB}.identity_profiles (unique_id bigint, group_id bigint,
        source_name varchar, tuple_rank bigint, {columns})"""
    )
    for i, row in enumerate(rows):
        values = [i, row.get("group_id", i), row.get("source_name", "crm"), 1, *(row.get(c) for c in PROFILE_COLUMNS)]
        con.execute(f"insert into {WORK_DB}.identity_profiles values ({', '.join('?' * len(values))})", values)


def _registry(people: int = 200) -> list[dict]:
    """A registry without phones: every person twice (a name typo in every other person's second), with a birth date
    and city."""
    rows = []
    for p in range(people):
        person = {"name": f"given{p % 37} family{p % 41}", "birth_date": f"19{50 + p % 50}-0{1 + p % 9}-1{p % 10}"}
        person["city"] = ["leeds", "york", "bath", "hull"][p % 4]
        rows.append(person)
        rows.append({**person, "name": person["name"] + ("e" if p % 2 else "")})
    return rows


def test_comparisons_follow_the_attributes_the_profiles_carry():
    con = duckdb.connect()
    with identity_workspace(con):
        rows = _registry()
        rows[0]["postcode"] = "LS1 1AA"  # one postcode in 400 profiles: too rare to compare
        _profiles(con, rows)
        plan = plan_model(con)
    assert plan.comparisons == ["name", "birth_date", "city"]
    assert any("postcode" in note and "left out" in note for note in plan.notes)
    # no phone, e-mail or address: blocking and training use what there is
    assert all(set(rule) <= {"name", "birth_date", "city"} for rule in plan.blocking_rules)
    assert plan.em_rules and plan.prior_rules
    for comparison in plan.comparisons:  # each trained by a rule that does not block on it
        assert any(not set(model_plan.COMPARISONS[comparison].columns) & set(r) for r in plan.em_rules)


def test_a_blocking_rule_too_coarse_for_the_data_is_left_out_with_a_note(monkeypatch):
    monkeypatch.setattr(model_plan, "MIN_PAIR_CAP", 100)
    monkeypatch.setattr(model_plan, "PAIRS_PER_PROFILE", 0)
    con = duckdb.connect()
    with identity_workspace(con):
        _profiles(con, _registry())
        plan = plan_model(con)
    # 400 profiles in 4 cities: city alone is not a candidate; birth_date yields more than 100 pairs
    assert ("birth_date",) not in plan.blocking_rules
    assert any(note.startswith("blocking rule birth_date left out") for note in plan.notes)


def test_the_priors_recall_is_measured_on_pairs_known_to_be_one_person():
    con = duckdb.connect()
    with identity_workspace(con):
        rows = _registry(100)
        for i, row in enumerate(rows):
            row["group_id"] = i // 2  # each person's two profiles share an identifier: known to be one
        _profiles(con, rows)
        plan = plan_model(con)
    # the exact rules (name + birth_date, name + city) find half the 100 known pairs: every other person's second
    # name has a typo. Assuming they find 90% would make the prior, and every match, too unlikely.
    assert plan.prior_rules and plan.prior_recall == 0.5


def test_named_comparisons_and_blocking_rules_replace_the_chosen_ones():
    con = duckdb.connect()
    with identity_workspace(con):
        _profiles(con, _registry())
        plan = plan_model(con, ["name", "birth_date"], [["birth_date"]])
    assert plan.comparisons == ["name", "birth_date"] and plan.blocking_rules == [("birth_date",)]


def test_a_named_comparison_no_profile_carries_is_an_error_naming_it_and_the_stage():
    con = duckdb.connect()
    with identity_workspace(con):
        _profiles(con, _registry())
        with pytest.raises(MatchingError, match=r"planning: .*national_id \(attribute national_id\).*source contract"):
            match_profiles(con, seed=1, comparisons=["name", "national_id"])


def test_the_settings_name_only_known_comparisons_and_columns():
    with pytest.raises(ValueError, match="comparisons"):
        MatchingConfig(comparisons=["shoe_size"])
    with pytest.raises(ValueError, match="blocking_rules"):
        MatchingConfig(blocking_rules=[["name", "shoe_size"]])
    with pytest.raises(ValueError, match="empty list"):
        MatchingConfig(blocking_rules=[[]])


def test_a_training_failure_names_the_stage_the_rule_and_the_setting_to_change(monkeypatch):
    from splink.internals.linker_components.training import LinkerTraining

    def fails(self, blocking_rule, **kwargs):
        raise RuntimeError("m_probability value 0.0 is below the minimum")

    monkeypatch.setattr(LinkerTraining, "estimate_parameters_using_expectation_maximisation", fails)
    con = duckdb.connect()
    with identity_workspace(con):
        _profiles(con, _registry())
        with pytest.raises(MatchingError) as failure:
            match_profiles(con, seed=1)
    message = str(failure.value)
    assert "training (expectation maximisation on " in message
    assert "comparisons name, birth_date, city" in message and "identity.matching.comparisons" in message
    assert "m_probability value 0.0" in message
