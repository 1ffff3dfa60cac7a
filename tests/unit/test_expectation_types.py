"""The expectation types known without importing Great Expectations are the installed package's."""

import inspect

import great_expectations.expectations as gxe
from great_expectations.expectations.expectation import (
    ColumnMapExpectation,
    ColumnPairMapExpectation,
    Expectation,
    MulticolumnMapExpectation,
)

from pipeline.quality.expectation_types import ROW_LEVEL, TABLE_LEVEL


def _class_of(type_name: str) -> type:
    return getattr(gxe, "".join(part.capitalize() for part in type_name.split("_")))


def test_every_known_type_is_a_ge_expectation_of_its_kind():
    assert not ROW_LEVEL & TABLE_LEVEL
    row_bases = ColumnMapExpectation | ColumnPairMapExpectation | MulticolumnMapExpectation
    assert all(issubclass(_class_of(t), row_bases) for t in ROW_LEVEL)
    assert not any(issubclass(_class_of(t), row_bases) for t in TABLE_LEVEL)


def test_every_expectation_ge_ships_is_known():
    shipped = {
        name
        for name, cls in vars(gxe).items()
        if inspect.isclass(cls) and issubclass(cls, Expectation) and name.startswith("Expect") and name != "Expectation"
    }
    known = {"".join(part.capitalize() for part in t.split("_")) for t in ROW_LEVEL | TABLE_LEVEL}
    assert shipped == known
