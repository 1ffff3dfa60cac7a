from pathlib import Path

import pytest
import yaml

from pipeline.contracts import ContractError, load_contract, load_contracts
from tests.conftest import CONTRACTS

TMALL = yaml.safe_load((CONTRACTS / "tmall.yml").read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict, name: str = "c.yml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_every_committed_contract_is_valid():
    contracts = load_contracts(CONTRACTS)
    assert {c.entity for c in contracts} == {
        "customers",
        "orders",
        "interactions",
        "service_tickets",
        "surveys",
        "campaigns",
        "campaign_responses",
        "leads",
        "opportunities",
    }
    assert {c.source for c in contracts if c.entity == "orders"} == {"tmall", "jd", "pdd", "pos", "dealer_reports"}


@pytest.mark.parametrize(
    "change, key, fragment",
    [
        ({"encodng": "gbk"}, "encodng", "unknown key (did you mean 'encoding'?)"),
        ({"encoding": "gbkk"}, "encoding", "unknown encoding 'gbkk'"),
        ({"format": "xls"}, "format", "Input should be"),
        ({"timezone": "Asia/Shanghi"}, "timezone", "unknown time zone"),
        ({"header_row": 0}, "header_row", "greater than or equal to 1"),
        ({"entity": "order"}, "entity", "Input should be"),
        ({"datetime_formats": ["YYYY-MM-DD"]}, "datetime_formats", "is not a strftime format"),
        ({"grain": "order_line", "entity": "customers", "columns": {"a": "name"}, "derived": {}}, "", "grain"),
    ],
)
def test_bad_keys_and_values_name_file_and_key(tmp_path, change, key, fragment):
    path = write(tmp_path, {**TMALL, **change})
    with pytest.raises(ContractError) as info:
        load_contract(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert key in info.value.key
    assert fragment in message


def test_unknown_canonical_column_is_named_with_a_suggestion(tmp_path):
    data = {**TMALL, "columns": {**TMALL["columns"], "实付金额": "ammount"}}
    path = write(tmp_path, data)
    with pytest.raises(ContractError) as info:
        load_contract(path)
    assert info.value.key == "columns.实付金额"
    assert "unknown canonical column 'ammount'" in str(info.value)
    assert "did you mean 'amount'" in str(info.value)


def test_derived_expression_checked_against_columns(tmp_path):
    data = {**TMALL, "derived": {"status": "case status_text when 'x' then 'completed' end"}}
    with pytest.raises(ContractError) as info:
        load_contract(write(tmp_path, data))
    assert info.value.key == "derived.status"
    assert "status_text" in str(info.value)


def test_a_column_cannot_be_mapped_twice(tmp_path):
    data = {**TMALL, "columns": {**TMALL["columns"], "另一个金额": "amount"}}
    with pytest.raises(ContractError, match="already mapped"):
        load_contract(write(tmp_path, data))


def test_helper_may_not_shadow_a_canonical_column(tmp_path):
    data = {**TMALL, "columns": {**TMALL["columns"], "订单状态": {"name": "status", "type": "string"}}}
    with pytest.raises(ContractError, match="shadows a canonical column"):
        load_contract(write(tmp_path, data))


def test_two_contracts_for_the_same_source_and_entity(tmp_path):
    write(tmp_path, TMALL, "a.yml")
    write(tmp_path, TMALL, "b.yml")
    with pytest.raises(ContractError, match="already declared"):
        load_contracts(tmp_path)


def test_invalid_yaml_and_empty_folder(tmp_path):
    (tmp_path / "x.yml").write_text("source: [unclosed", encoding="utf-8")
    with pytest.raises(ContractError, match="invalid YAML"):
        load_contract(tmp_path / "x.yml")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ContractError, match="no source contracts"):
        load_contracts(empty)
