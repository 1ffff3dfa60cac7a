"""rules.yml: conditions parsed, checked against the fact table's schema, applied without SQL text."""

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline.grading.rules import RulesError, RulesSpec, apply_rules, compile_rules, load_rules
from tests.conftest import REPO

FILE = Path("rules.yml")
CUSTOMERS = pl.DataFrame(
    {
        "customer_key": ["C1", "C2", "C3"],
        "as_of_date": [date(2026, 7, 1)] * 3,
        "monetary": [12000.0, 500.0, None],
        "interactions_30d": [7, 0, 2],
        "latest_nps_score": [3, 9, None],
        "complaints_90d": [1, 1, 0],
        "gender": ["女", "男", None],
    }
)


def spec(*rules: tuple[str, str]) -> RulesSpec:
    return RulesSpec.model_validate({"rules": [{"name": n, "when": w, "tag": n} for n, w in rules]})


def test_rules_tag_the_customers_whose_condition_holds_and_null_never_holds():
    rules = spec(
        ("high_value", "monetary > 10000"),
        ("active", "interactions_30d > 5"),
        ("at_risk", "latest_nps_score <= 6 and complaints_90d > 0"),
        ("no_spend", "monetary < 1000"),
        ("women", "gender in ('女')"),
    )
    tags = apply_rules(FILE, CUSTOMERS, compile_rules(FILE, rules, CUSTOMERS.schema))
    got = sorted(tags.select("rule", "customer_key").rows())
    assert got == [("active", "C1"), ("at_risk", "C1"), ("high_value", "C1"), ("no_spend", "C2"), ("women", "C1")]
    assert tags.columns == ["customer_key", "tag", "tag_group", "rule", "as_of_date"]


@pytest.mark.parametrize(
    "when, fragment",
    [
        ("monetry > 10000", "names unknown column(s) ['monetry']"),
        ("gender > 5", "does not type-check: cannot compare string with numeric type"),
        ("monetary + 1", "is Float64, not a true/false condition"),
        ("monetary > 1; drop table marts.fct_customer", "';' is not allowed"),
        ("customer_key in (select customer_key from marts.fct_customer)", "rule 'bad'"),
        ("monetary >", "cannot parse"),
    ],
)
def test_a_bad_rule_is_an_error_naming_the_rule(when, fragment):
    with pytest.raises(RulesError) as err:
        compile_rules(FILE, spec(("fine", "monetary > 0"), ("bad", when)), CUSTOMERS.schema)
    message = str(err.value)
    assert "rules.1.when (rule 'bad')" in message and fragment in message, message


def test_the_repository_rules_load_and_names_are_unique(tmp_path):
    assert [r.name for r in load_rules(REPO / "rules.yml").rules][:2] == ["high_value", "active"]
    twice = tmp_path / "rules.yml"
    twice.write_text("rules:\n  - {name: a, when: x > 1, tag: t}\n  - {name: a, when: x > 2, tag: t}\n")
    with pytest.raises(RulesError, match="rule names must be unique: a"):
        load_rules(twice)


def test_a_rule_that_reads_a_file_is_refused_before_polars_sees_it(tmp_path):
    # Polars' SQL parser ran the subquery while parsing: it opened the file and printed its first line.
    secret = tmp_path / "salt"
    secret.write_text("the-privacy-salt\n", encoding="utf-8")
    rules = spec(("leak", f"monetary > (select max(x) from read_csv('{secret}'))"))
    with pytest.raises(RulesError) as info:
        compile_rules(FILE, rules, CUSTOMERS.schema)
    assert "a subquery is not allowed" in str(info.value)
    assert "the-privacy-salt" not in str(info.value)


def test_a_rule_naming_a_renamed_lifetime_measure_is_told_its_new_name():
    schema = pl.Schema({"customer_key": pl.String, "lifetime_monetary": pl.Float64, "lifetime_frequency": pl.Int64})
    with pytest.raises(RulesError) as raised:
        compile_rules(FILE, spec(("high_value", "monetary > 10000")), schema)
    assert "monetary is lifetime_monetary" in str(raised.value)
    assert "frequency is" not in str(raised.value)  # only the name the rule used
