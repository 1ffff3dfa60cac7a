"""Cleaning, suite loading and Great Expectations validation on frames."""

import json
from datetime import datetime

import polars as pl
import pytest

from pipeline.contracts.model import SourceContract
from pipeline.ingest.loader import IngestOptions
from pipeline.ingest.transform import whole_name
from pipeline.quality.cleaning import clean_name, clean_phone, cleaning_for, fold_full_width
from pipeline.quality.suites import SuiteError, load_suite, suite_for
from pipeline.quality.validate import validate_frame

# The per-source limits of a source with the default contract, as the loader computes them.
LIMITS = IngestOptions(warehouse_tz="Asia/Shanghai", run_id="t", now=datetime(2026, 6, 30)).limits(
    SourceContract(source="s", entity="surveys", path="*.csv", format="csv", columns={"id": "response_id"})
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("13812345678", "+8613812345678"),
        ("+86 138-1234-5678", "+8613812345678"),
        ("0086 13812345678", "+8613812345678"),
        ("(138)1234 5678", "+8613812345678"),
        ("138****5678", "+86138****5678"),
        ("138xxxx5678", "+86138****5678"),
        ("010-12345678", "+861012345678"),
        ("+86 10 1234 5678", "+861012345678"),
        ("0755-1234567", "+867551234567"),
        ("1381234567", "1381234567"),  # ten digits: left as it came, for the suite to reject
        ("12345", "12345"),
        ("+8612345", "+8612345"),
        # another country's number in a Chinese export, by its prefix
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("+1 555", "+1 555"),
    ],
)
def test_phones_become_e164_or_stay_as_they_came(raw, clean):
    assert pl.select(clean_phone(pl.lit(raw))).item() == clean


@pytest.mark.parametrize(
    ("country", "raw", "clean"),
    [
        ("US", "(415) 555-0100", "+14155550100"),
        ("US", "415.555.0100", "+14155550100"),
        ("US", "+44 20 7946 0958", "+442079460958"),
        ("US", "555-0100", "555-0100"),  # no area code: no number of the US, left for the suite
        ("GB", "020 7946 0958", "+442079460958"),
        ("DE", "030 901820", "+4930901820"),
        ("US", "13812345678", "13812345678"),  # a Chinese mobile without +86 is no US number
    ],
)
def test_a_sources_country_says_where_a_phone_without_a_country_code_is_from(country, raw, clean):
    frame = pl.DataFrame({"phone": [raw, raw, None]})  # each distinct value parsed once; nulls stay null
    assert frame.select(clean_phone(pl.col("phone"), country)).to_series().to_list() == [clean, clean, None]


def test_the_phone_rule_takes_any_countrys_e164_and_still_refuses_a_short_chinese_one():
    suite = load_suite(suite_for("orders").file)
    [rule] = [r for r in suite.rules if r.type == "expect_column_values_to_match_regex" and r.columns == ["phone"]]
    import re

    pattern = re.compile(rule.kwargs["regex"])
    assert [bool(pattern.search(v)) for v in ("+14155550100", "+442079460958", "+8613812345678", "+86138****5678")] == [
        True
    ] * 4
    assert [bool(pattern.search(v)) for v in ("+8612345", "+1 555", "4155550100", "+0123456789")] == [False] * 4


def test_names_and_full_width():
    names = pl.Series(["张 三 丰", "Li   Wei"])
    assert pl.select(clean_name(pl.lit(names))).to_series().to_list() == ["张三丰", "Li Wei"]
    df = fold_full_width(
        pl.DataFrame({"a": ["１３８１２３４５６７８", "ＡＢ＠ｘ．ｃｏｍ"], "b": ["普通", "x"]}), ["a", "b"]
    )
    assert df["a"].to_list() == ["13812345678", "AB@x.com"] and df["b"].to_list() == ["普通", "x"]


def test_registration_numbers_and_postcodes_are_compared_without_separators_in_capitals():
    df = pl.DataFrame({"national_id": ["110101 19900307 123x", "123-45-6789"], "postcode": ["sw1a  1aa", "4011"]})
    cleaned = df.select(cleaning_for("national_id").alias("id"), cleaning_for("postcode").alias("postcode"))
    assert cleaned.rows() == [("11010119900307123X", "SW1A 1AA"), ("123456789", "4011")]


def test_a_split_name_is_composed_where_the_export_gives_no_whole_name():
    lf = pl.LazyFrame(
        {
            "name": [None, "Given Whole", None, None, None],
            "first_name": ["Julia", "a", "芳", None, None],
            "last_name": ["Taylor", "b", "王", "Smith", None],
        }
    )
    names = lf.select(whole_name(lf, {"name", "first_name", "last_name"})).collect().to_series().to_list()
    # given name first with a space, family name first without one in Chinese; a whole name given is kept
    assert names == ["Julia Taylor", "Given Whole", "王芳", "Smith", None]


def test_every_entity_has_a_suite_with_row_and_table_rules():
    from pipeline.contracts.schema import ENTITIES

    for entity in ENTITIES:
        suite = suite_for(entity)
        kinds = {r.on_failure for r in suite.rules}
        assert {"quarantine", "stop"} <= kinds, entity


def test_suite_errors_name_the_file_and_expectation(tmp_path):
    bad = tmp_path / "orders.json"
    bad.write_text(json.dumps({"expectations": [{"type": "expect_column_values_to_be_purple", "kwargs": {}}]}))
    with pytest.raises(SuiteError, match=r"orders.json: expectations\[0\]: unknown expectation type"):
        load_suite(bad)
    bad.write_text(
        json.dumps(
            {
                "expectations": [
                    {
                        "type": "expect_table_row_count_to_be_between",
                        "kwargs": {"min_value": 1},
                        "meta": {"on_failure": "quarantine"},
                    }
                ]
            }
        )
    )
    with pytest.raises(SuiteError, match="cannot quarantine rows"):
        load_suite(bad)


def test_validation_names_failing_rows_and_rules():
    suite = suite_for("surveys")
    df = pl.DataFrame(
        {
            "_row_number": [2, 3, 4],
            "_source_file": ["f.csv"] * 3,
            "_parse_errors": [None, None, "score=ten"],
            "response_id": ["a", "b", "c"],
            "survey_type": ["NPS", "XYZ", "NPS"],
            "score": [9, 3, None],
            "answered_at": [datetime(2024, 1, 1), datetime(2031, 1, 1), datetime(2024, 1, 1)],
            "phone": ["+8613812345678", None, None],
        }
    )
    v = validate_frame(df, suite, {**LIMITS, "min_rows": 1})
    failures = sorted(v.row_failures.select("_row_number", "rule").rows())
    assert failures == [
        (3, "answered_at__to_be_between"),
        (3, "survey_type__to_be_in_set"),
        (4, "parse_errors__to_be_null"),
    ]
    assert not v.stops
    v = validate_frame(df, suite, {**LIMITS, "min_rows": 10})
    assert [o.rule.name for o in v.stops] == ["table__row_count_to_be_between"]


def test_a_validation_page_shows_a_files_markup_as_text(tmp_path):
    """A cell holding markup was written into GE's page as it was: `<img src=x onerror=...>` ran in the browser of
    whoever opened the validation page. Every value from the file is escaped, once."""
    from pipeline.quality.docs import render_validation
    from pipeline.quality.suites import Suite

    suite = load_suite(suite_for("orders").file)
    [rule] = [r for r in suite.rules if r.type == "expect_column_values_to_match_regex" and r.columns == ["email"]]
    only = Suite(
        suite.name,
        suite.file,
        {**suite.document, "expectations": [suite.document["expectations"][rule.index]]},
        (rule,),
    )
    frame = pl.DataFrame({"_row_number": [1, 2], "email": ["<img src=x onerror=alert(1)>", "a@b.cn"]})
    validation = validate_frame(frame, only, LIMITS, index="_row_number")
    page = render_validation(validation.ge_result, tmp_path / "v.html").read_text(encoding="utf-8")
    assert "<img src=x onerror" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&amp;lt;" not in page
    # the result itself is left as it was (dq.validation_results keeps the values as read)
    assert validation.ge_result.results[0].result["partial_unexpected_list"] == ["<img src=x onerror=alert(1)>"]
