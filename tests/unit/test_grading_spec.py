"""grading.yml: validated with errors that name the file and what is wrong; written as tables for dbt."""

from pathlib import Path

import pytest
import yaml

from pipeline.grading.spec import GradingError, load_grading_spec, spec_tables
from tests.conftest import REPO

BASE = (REPO / "grading.yml").read_text(encoding="utf-8")


def write(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(BASE)
    change(data)
    path = tmp_path / "grading.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_the_repository_spec_is_valid_and_becomes_tables():
    spec = load_grading_spec(REPO / "grading.yml")
    tables = spec_tables(spec, "test")
    assert tables["profiles"].column("profile").to_pylist() == ["default", "b2b_low_frequency"]
    dims = tables["dimensions"].to_pylist()
    assert {(d["profile"], d["dimension"]) for d in dims} >= {("default", "recency"), ("b2b_low_frequency", "monetary")}
    b2b_recency = [d for d in dims if d["profile"] == "b2b_low_frequency" and d["dimension"] == "recency"][0]
    assert b2b_recency["method"] == "thresholds" and b2b_recency["higher_is_better"] is False
    # companies are judged by their own rhythm: days since the last purchase over their typical gap
    assert b2b_recency["indicator"] == "recency_cadence"
    assert (b2b_recency["cadence_min_gaps"], b2b_recency["cadence_default_gap_days"]) == (2, 180)
    default_recency = [d for d in dims if d["profile"] == "default" and d["dimension"] == "recency"][0]
    assert default_recency["indicator"] == "recency" and default_recency["cadence_min_gaps"] is None
    thresholds = tables["thresholds"].to_pylist()
    b2b = [t["threshold"] for t in thresholds if t["profile"] == "b2b_low_frequency" and t["dimension"] == "recency"]
    assert b2b == [0.75, 1.25, 2, 4]  # the profile's own cut-offs, in typical gaps, replace the default days
    assert [t["threshold"] for t in thresholds if t["profile"] == "default" and t["dimension"] == "recency"] == [
        30,
        90,
        180,
        365,
    ]
    assert tables["grades"].num_rows == 8  # four grades, for each profile


def _extra(data, indicator):
    data["dimensions"]["engagement"] = {"indicator": indicator, "weight": 0.5}


@pytest.mark.parametrize(
    "change, fragment",
    [
        (lambda d: _extra(d, "favourite_colour"), "dimensions.engagement: indicator 'favourite_colour' is not a"),
        (lambda d: d["dimensions"].pop("monetary"), "monetary missing"),
        (
            lambda d: d["dimensions"]["frequency"].update(scoring={"method": "thresholds", "thresholds": [1, 2, 3]}),
            "needs 4 strictly ascending thresholds",
        ),
        (lambda d: d["grades"].reverse(), "strictly decreasing min_score"),
        (lambda d: d["grades"].pop(), "the last grade needs min_score 0"),
        (lambda d: d["profiles"][0]["match"].update(favourite_colour=["red"]), "cannot match on 'favourite_colour'"),
        (lambda d: d["profiles"][0]["dimensions"].update(engagement={"weight": 1}), "not in the top-level dimensions"),
        (lambda d: d.update(lookback_dayz=10), "lookback_dayz: unknown key (did you mean 'lookback_days'?)"),
        (
            lambda d: d["dimensions"]["recency"]["scoring"].update(exclude_highest_share=0.01),
            "exclude_highest_share is only read with method: quantile",
        ),
        (
            lambda d: d["dimensions"]["monetary"].update(scoring={"method": "quantile", "exclude_highest_share": 0.5}),
            "less than 0.5",
        ),
        (
            lambda d: d["dimensions"]["frequency"].update(cadence={"default_gap_days": 30}),
            "dimensions.frequency: only recency can be judged by cadence",
        ),
        (lambda d: d["dimensions"]["recency"].update(cadence={"min_gaps": 2}), "default_gap_days"),
        (
            lambda d: d["dimensions"]["recency"].update(cadence={"min_gaps": 0, "default_gap_days": 30}),
            "greater than or equal to 1",
        ),
    ],
)
def test_a_bad_spec_is_an_error_naming_the_file_and_the_fault(tmp_path, change, fragment):
    path = write(tmp_path, change)
    with pytest.raises(GradingError) as err:
        load_grading_spec(path)
    assert str(path) in str(err.value) and fragment in str(err.value)


def test_an_extra_dimension_from_the_fact_table_is_accepted(tmp_path):
    spec = load_grading_spec(write(tmp_path, lambda d: _extra(d, "interactions_90d")))
    dims = spec_tables(spec, "test")["dimensions"].to_pylist()
    assert {d["profile"] for d in dims if d["indicator"] == "interactions_90d"} == {"default", "b2b_low_frequency"}


def test_an_outlier_share_reaches_the_dimensions_table(tmp_path):
    path = write(
        tmp_path,
        lambda d: d["dimensions"]["monetary"].update(scoring={"method": "quantile", "exclude_highest_share": 0.001}),
    )
    dims = spec_tables(load_grading_spec(path), "test")["dimensions"].to_pylist()
    shares = {(d["profile"], d["dimension"]): d["exclude_highest_share"] for d in dims}
    assert shares[("default", "monetary")] == 0.001 and shares[("default", "frequency")] == 0
