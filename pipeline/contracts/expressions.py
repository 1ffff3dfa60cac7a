"""Derived fields: a small, safe expression language.

An expression is a SQL scalar expression (arithmetic, comparisons, CASE WHEN, string and date functions)
parsed by Polars' SQL parser into a Polars expression. It is never pasted into SQL text: the parser
rejects statements, and every column it names is checked against the columns the contract declares.
"""

from __future__ import annotations

import polars as pl

MAX_LENGTH = 2000


class ExpressionError(ValueError):
    """An expression that does not parse or names a column that does not exist."""


def parse_expression(text: str, known_columns: set[str]) -> pl.Expr:
    """Parse `text` into a Polars expression over `known_columns`, or raise ExpressionError."""
    if not text or not text.strip():
        raise ExpressionError("empty expression")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    if ";" in text:
        raise ExpressionError("';' is not allowed in an expression")
    try:
        expr = pl.sql_expr(text)
    except Exception as exc:  # Polars raises several exception types for bad SQL
        raise ExpressionError(f"cannot parse {text!r}: {exc}") from None
    unknown = sorted(set(expr.meta.root_names()) - known_columns)
    if unknown:
        raise ExpressionError(f"{text!r} names unknown column(s) {unknown}; known columns: {sorted(known_columns)}")
    return expr
