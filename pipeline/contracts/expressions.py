"""Derived fields and tag rules: a small, safe expression language.

An expression is a SQL scalar expression (arithmetic, comparisons, CASE WHEN, string and date functions)
evaluated by Polars. It is never pasted into SQL text run against the warehouse. Before Polars sees it,
sqlglot parses it and every node of the tree must be of an allowed kind: Polars' SQL parser would run a
subquery such as `(select max(x) from read_csv('/etc/passwd'))` while parsing, opening the file, so
statements, subqueries, table functions and functions outside the list below never reach it. Every column
the expression names must be one the contract (or the fact table) declares.
"""

from __future__ import annotations

import polars as pl
import sqlglot
from sqlglot import exp

MAX_LENGTH = 2000

# Node kinds an expression may hold: values, columns, operators, CASE, CAST, IN (...), BETWEEN, LIKE, IS.
_ALLOWED_NODES: tuple[type[exp.Expression], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Null,
    exp.Boolean,
    exp.Paren,
    exp.Tuple,
    exp.Neg,
    exp.Not,
    exp.Cast,
    exp.TryCast,
    exp.DataType,
    exp.DataTypeParam,
    exp.Case,
    exp.If,
    exp.Between,
    exp.In,
    exp.Is,
    exp.Like,
    exp.ILike,
    exp.Var,
    exp.Extract,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.IntDiv,
    exp.Mod,
    exp.EQ,
    exp.NEQ,
    exp.NullSafeEQ,
    exp.NullSafeNEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.And,
    exp.Or,
    exp.DPipe,
)
# Scalar functions, by sqlglot's node kind.
_ALLOWED_FUNCTIONS: tuple[type[exp.Func], ...] = (
    exp.Coalesce,
    exp.Nullif,
    exp.Upper,
    exp.Lower,
    exp.Initcap,
    exp.Length,
    exp.Substring,
    exp.Trim,
    exp.Concat,
    exp.ConcatWs,
    exp.Left,
    exp.Right,
    exp.StrPosition,
    exp.StartsWith,
    exp.RegexpLike,
    exp.RegexpReplace,
    exp.Abs,
    exp.Round,
    exp.Floor,
    exp.Ceil,
    exp.Sqrt,
    exp.Ln,
    exp.Log,
    exp.Exp,
    exp.Pow,
    exp.Sign,
    exp.Greatest,
    exp.Least,
    exp.DateDiff,
    exp.Date,
)
# Functions sqlglot does not know by kind (it parses them as "anonymous"), by name.
_ALLOWED_NAMES = frozenset(
    {"strptime", "date_part", "replace", "ltrim", "rtrim", "reverse", "strpos", "ends_with", "octet_length"}
)


class ExpressionError(ValueError):
    """An expression that does not parse, holds a construct outside the allow-list, or names an unknown column."""


def _refused(tree: exp.Expression) -> str | None:
    """The first construct of the tree that is not allowed, described for the error message."""
    for node in tree.walk():
        if isinstance(node, exp.Func) and not isinstance(node, _ALLOWED_NODES):
            if isinstance(node, exp.Anonymous):
                if str(node.name).lower() not in _ALLOWED_NAMES:
                    return f"function {node.name}()"
            elif not isinstance(node, _ALLOWED_FUNCTIONS):
                return f"function {node.sql_name().lower()}()"
        elif isinstance(node, exp.Column) and (node.args.get("table") or node.args.get("db")):
            return f"qualified column {node.sql()!r}"
        elif not isinstance(node, _ALLOWED_NODES + _ALLOWED_FUNCTIONS + (exp.Anonymous,)):
            kind = {exp.Select: "a subquery", exp.Subquery: "a subquery", exp.Exists: "a subquery"}.get(type(node))
            return kind or f"{type(node).__name__}"
    return None


def _try_casts(tree: exp.Expression) -> exp.Expression:
    """Every CAST of `tree` (a copy) as TRY_CAST, inner ones included: sqlglot's transform does not visit the
    operand of a node it replaced, so CAST(CAST(x AS BIGINT) AS TEXT) kept its strict inner CAST, and one cell
    failed the whole source with the cell's text in the error."""
    tree = tree.copy()
    for node in reversed(list(tree.find_all(exp.Cast))):  # innermost first
        if type(node) is exp.Cast:
            lenient = exp.TryCast(this=node.this, to=node.to)
            if node is tree:
                tree = lenient
            else:
                node.replace(lenient)
    return tree


def derived_expression(text: str, known_columns: set[str]) -> tuple[pl.Expr, list[tuple[pl.Expr, pl.Expr, str]]]:
    """A contract's derived field: `text` as a Polars expression whose CASTs give null for a value that does not
    convert (a strict CAST fails the whole file on one bad cell), and per CAST (its operand, the conversion, how it
    is written), so that the caller can name such a value and quarantine its row instead."""
    expr = parse_expression(text, known_columns)
    tree = sqlglot.parse_one(text, read="postgres")
    casts = [n for n in tree.walk() if type(n) is exp.Cast]
    if not casts:
        return expr, []
    checks = [
        (pl.sql_expr(_try_casts(n.this).sql("duckdb")), pl.sql_expr(_try_casts(n).sql("duckdb")), n.sql("postgres"))
        for n in casts
    ]
    return pl.sql_expr(_try_casts(tree).sql("duckdb")), checks


def parse_expression(text: str, known_columns: set[str]) -> pl.Expr:
    """Parse `text` into a Polars expression over `known_columns`, or raise ExpressionError."""
    if not text or not text.strip():
        raise ExpressionError("empty expression")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    if ";" in text:
        raise ExpressionError("';' is not allowed in an expression")
    try:
        tree = sqlglot.parse_one(text, read="postgres")
    except sqlglot.errors.SqlglotError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExpressionError(f"cannot parse {text!r}: {first}") from None
    refused = _refused(tree)
    if refused:
        raise ExpressionError(
            f"{text!r}: {refused} is not allowed in an expression (values, columns, operators, CASE, CAST, "
            "IN, BETWEEN, LIKE and scalar string, number and date functions are)"
        )
    try:
        expr = pl.sql_expr(text)
    except Exception as exc:  # Polars raises several exception types for bad SQL
        raise ExpressionError(f"cannot parse {text!r}: {exc}") from None
    unknown = sorted(set(expr.meta.root_names()) - known_columns)
    if unknown:
        raise ExpressionError(f"{text!r} names unknown column(s) {unknown}; known columns: {sorted(known_columns)}")
    return expr
