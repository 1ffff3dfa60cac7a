"""Identity resolution on labelled public data (issue 45), through the real contracts, ingest and resolution, beside
Splink's own documented model on the same records (bench/identity_labelled.py prints the whole table)."""

import logging

import pytest

from bench.identity_labelled import DATASETS_DIR, LABELLED_SETS, run_labelled
from pipeline.config import load_settings
from pipeline.paths import REPO_ROOT

CONFIG = load_settings(REPO_ROOT / "crmgrade.yml").identity


@pytest.fixture(autouse=True)
def _quiet_splink():
    logging.getLogger("splink").setLevel(logging.ERROR)


@pytest.mark.skipif(
    not (DATASETS_DIR / "people_fake_1000.csv").exists(),
    reason=f"{DATASETS_DIR}/people_fake_1000.csv is absent: the shared datasets sit beside the checkout",
)
@pytest.mark.parametrize("sources", [1, 3], ids=["one source", "three sources"])
def test_people_fake_1000_is_resolved_precisely_and_better_than_splinks_documented_model(sources, tmp_path):
    # A registry without phones: names with typos and swaps, birth dates, e-mails with typos, cities. Before issue 45
    # the run crashed (a prior of 0), and the comparisons ignored birth dates and e-mail typos.
    result = run_labelled(LABELLED_SETS["people_fake_1000"], sources, CONFIG, tmp_path)
    assert result.loaded + result.quarantined == result.records
    assert result.ours.precision >= 0.99, result
    assert result.ours.f1 > result.splink_documented.f1, result
    assert {"name", "email", "birth_date", "city"} <= set(result.comparisons)


def test_febrl1_with_postcodes_and_registration_numbers_beats_splinks_febrl_model(tmp_path):
    # Australian names, street addresses, postcodes, birth dates and social security numbers (national_id): the
    # comparisons come from what the contract maps, with no setting naming them.
    result = run_labelled(LABELLED_SETS["febrl1"], 1, CONFIG, tmp_path)
    assert result.ours.precision >= 0.99, result
    assert result.ours.f1 > result.splink_documented.f1, result
    assert {"national_id", "postcode", "address", "birth_date"} <= set(result.comparisons)
