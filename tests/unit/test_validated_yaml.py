"""The files a person edits (crmgrade.yml, contracts, grading.yml, rules.yml) are read stricter than YAML reads them."""

from pathlib import Path

import pytest
import yaml

from pipeline.config import ConfigError, load_settings
from pipeline.contracts.model import ContractError, load_contract
from pipeline.grading.spec import GradingError, load_grading_spec
from tests.conftest import REPO

CONTRACT = "source: s\nentity: orders\npath: '*.csv'\nformat: csv\ncolumns:\n  订单编号: order_id\n  手机: phone\n"


def test_a_key_given_twice_in_a_contract_is_an_error_naming_both_lines(tmp_path):
    # YAML keeps the last one without a word: the phone column would be read as the order id
    (tmp_path / "c.yml").write_text(CONTRACT + "  订单编号: phone\n", encoding="utf-8")
    with pytest.raises(ContractError, match="key '订单编号' is given twice: on line 6 and again on line 8"):
        load_contract(tmp_path / "c.yml")


def test_a_key_given_twice_in_crmgrade_yml_is_an_error(tmp_path):
    (tmp_path / "crmgrade.yml").write_text(
        "warehouse: w.duckdb\nsources: {root: s, contracts: c}\nwarehouse: other.duckdb\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="key 'warehouse' is given twice: on line 1 and again on line 3"):
        load_settings(tmp_path / "crmgrade.yml")


def test_an_impossible_date_names_its_line_instead_of_a_traceback(tmp_path):
    (tmp_path / "crmgrade.yml").write_text(
        "warehouse: w.duckdb\nas_of_date: 2026-13-01\nsources: {root: s, contracts: c}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="'2026-13-01' on line 2 is not a date: month must be in 1..12"):
        load_settings(tmp_path / "crmgrade.yml")


@pytest.mark.parametrize("written", [".nan", "'nan'", ".inf", "'Infinity'"])
def test_a_nan_or_infinite_grading_threshold_is_refused(tmp_path, written):
    spec = yaml.safe_load((REPO / "grading.yml").read_text(encoding="utf-8"))
    spec["dimensions"]["monetary"]["scoring"] = {"method": "thresholds", "thresholds": [100, 500, 1000, 5000]}
    text = yaml.safe_dump(spec, allow_unicode=True).replace("- 5000\n", f"- {written}\n", 1)
    assert written in text
    (tmp_path / "grading.yml").write_text(text, encoding="utf-8")
    with pytest.raises(GradingError, match=r"dimensions\.monetary\.scoring\.thresholds\.3: a number may not be NaN"):
        load_grading_spec(Path(tmp_path / "grading.yml"))


def test_a_merge_key_may_be_overridden_after_it(tmp_path):
    (tmp_path / "c.yml").write_text(
        "base: &b {source: s, entity: orders}\n<<: *b\nsource: t\npath: '*.csv'\nformat: csv\n"
        "columns: {订单编号: order_id}\n",
        encoding="utf-8",
    )
    with pytest.raises(ContractError, match="base: unknown key"):  # read, then judged by the contract's own keys
        load_contract(tmp_path / "c.yml")
