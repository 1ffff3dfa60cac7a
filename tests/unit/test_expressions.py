import polars as pl
import pytest

from pipeline.contracts.expressions import ExpressionError, parse_expression


def test_arithmetic_over_known_columns():
    expr = parse_expression("quantity * unit_price", {"quantity", "unit_price"})
    df = pl.DataFrame({"quantity": [3], "unit_price": [2.5]})
    assert df.select(expr.alias("x"))["x"].to_list() == [7.5]


def test_case_when_maps_codes():
    expr = parse_expression("case when code = 4 then 'cancelled' else 'completed' end", {"code"})
    df = pl.DataFrame({"code": [4, 1]})
    assert df.select(expr.alias("s"))["s"].to_list() == ["cancelled", "completed"]


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("quantity * price", "unknown column(s) ['price']"),
        ("", "empty expression"),
        ("1; drop table raw.orders", "';' is not allowed"),
        ("select * from raw.orders", "cannot parse"),
        ("quantity *", "cannot parse"),
    ],
)
def test_rejected_expressions(text, fragment):
    with pytest.raises(ExpressionError, match=None) as info:
        parse_expression(text, {"quantity", "unit_price"})
    assert fragment in str(info.value)
