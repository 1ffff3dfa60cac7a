"""Turn a frame of source strings into rows of the canonical schema, lazily.

Steps, in order: rename source columns to canonical/helper names, trim and null-out the contract's null
markers, clean phones/e-mails/names (`pipeline.quality.cleaning`),
type every column (several date formats, source time zone -> warehouse time zone), evaluate the
derived fields, fill a missing record id from file and row, and add lineage. A value that does not parse
becomes null *and* is named in `_parse_errors` so that validation can quarantine the row; nothing is
coerced silently.
"""

from __future__ import annotations

import re
from datetime import datetime

import polars as pl

from pipeline.contracts.expressions import derived_expression
from pipeline.contracts.model import HelperColumn, SourceContract
from pipeline.contracts.schema import ENTITIES, RECORD_ID
from pipeline.quality.cleaning import cleaning_for

SCALE = 4  # decimal places every canonical decimal keeps (pipeline/contracts/schema.py)
DECIMAL = pl.Decimal(18, SCALE)
POLARS_TYPES = {
    "string": pl.String,
    "integer": pl.Int64,
    "decimal": DECIMAL,
    "boolean": pl.Boolean,
    "date": pl.Date,
    "timestamp": pl.Datetime("us"),
}


def _number(raw: pl.Expr, contract: SourceContract, *, places: int) -> pl.Expr:
    """Text of a number in the source's own notation -> plain text ('-1234.5'), or null when it is not one.

    Spaces (thin and non-breaking ones too) and the signs and code of the source's own currency are dropped
    (another currency's stay, and fail);
    thousands separators must group by three and are dropped; the decimal separator becomes '.'; accounting
    negatives, (12.50) and 12.50-, get a minus. A value with more (non-zero) decimal places than `places` is
    not a number here: rounding it would lose money without a word, so it becomes a parse error instead.
    """
    dec, thousands = contract.decimal_separator, contract.thousands_separator.strip()
    text = raw.str.replace_all(r"[\s\u00a0\u202f]", "")
    for marker in contract.currency_markers():
        text = text.str.replace_all(marker, "", literal=True)
    negative = (text.str.starts_with("(") & text.str.ends_with(")")) | text.str.ends_with("-")
    text = text.str.strip_prefix("(").str.strip_suffix(")").str.strip_suffix("-")
    d, t = re.escape(dec), re.escape(thousands)
    whole = rf"(?:\d{{1,3}}(?:{t}\d{{3}})+|\d+)" if thousands else r"\d+"
    fraction = rf"\d{{0,{places}}}0*" if places else "0*"  # trailing zeros are no precision
    pattern = rf"^[+-]?(?:{whole}(?:{d}{fraction})?|{d}\d{{0,{places}}}0*)$"
    plain = text.str.replace_all(thousands, "", literal=True) if thousands else text
    plain = plain.str.replace(dec, ".", literal=True)
    if not places:
        plain = plain.str.replace(r"\.0*$", "")  # 3.0 is the count 3
    plain = pl.when(plain.str.starts_with(".")).then(pl.lit("0") + plain).otherwise(plain)
    signed = pl.when(negative & ~plain.str.starts_with("-")).then(pl.lit("-") + plain).otherwise(plain)
    return pl.when(text.str.contains(pattern)).then(signed)


def names_its_offset(fmt: str) -> bool:
    """Whether a timestamp format reads the value's own UTC offset: %z / %:z, or a literal Z, UTC or GMT."""
    return "%z" in fmt or "%:z" in fmt or fmt.endswith(("Z", "UTC", "GMT"))


def _parse(col: str, kind: str, contract: SourceContract, warehouse_tz: str) -> pl.Expr:
    raw = pl.col(col)
    if kind == "string":
        return raw
    if kind == "integer":
        return _number(raw, contract, places=0).cast(pl.Int64, strict=False)
    if kind == "decimal":
        return _number(raw, contract, places=SCALE).cast(DECIMAL, strict=False)
    if kind == "boolean":
        lowered = raw.str.to_lowercase()
        return (
            pl.when(lowered.is_in([v.lower() for v in contract.true_values]))
            .then(True)
            .when(lowered.is_in([v.lower() for v in contract.false_values]))
            .then(False)
            .otherwise(None)
        )
    if kind == "date":
        parsed = [raw.str.strptime(pl.Date, f, strict=False) for f in contract.date_formats]
        # A timestamp in a date column (Excel writes dates as '2024-03-05 00:00:00') still gives its date.
        parsed += [raw.str.strptime(pl.Datetime("us"), f, strict=False).dt.date() for f in contract.datetime_formats]
        return pl.coalesce(parsed)
    if kind == "timestamp":
        # a leap second (23:59:60) is the last second of its minute, not the next day's first (where parsing puts it)
        raw = raw.str.replace(r"(\d{1,2}:\d{2}):60(\D|$)", "${1}:59${2}")
        local = [f for f in contract.datetime_formats if not names_its_offset(f)]
        parsed = [raw.str.strptime(pl.Datetime("us"), f, strict=False) for f in local]
        parsed += [raw.str.strptime(pl.Date, f, strict=False).cast(pl.Datetime("us")) for f in contract.date_formats]
        ts = pl.coalesce(parsed) if parsed else pl.lit(None, pl.Datetime("us"))
        if contract.timezone != warehouse_tz:
            ts = (
                ts.dt.replace_time_zone(contract.timezone, ambiguous="earliest", non_existent="null")
                .dt.convert_time_zone(warehouse_tz)
                .dt.replace_time_zone(None)
            )
        # a value that says its own offset ('+08:00', '-0500', 'Z') is that instant, whatever the contract's zone
        instants = [
            raw.str.strptime(pl.Datetime("us", "UTC"), f, strict=False)
            .dt.convert_time_zone(warehouse_tz)
            .dt.replace_time_zone(None)
            for f in contract.datetime_formats
            if names_its_offset(f)
        ]
        return pl.coalesce([*instants, ts]) if instants else ts
    raise ValueError(f"unknown type {kind!r}")  # pragma: no cover


def _as_refunds(lf: pl.LazyFrame, contract: SourceContract, known: set[str]) -> pl.LazyFrame:
    """Return lines (contract `returns`) as 'returned' lines of their value, so that no validation rule takes a
    negative quantity or amount for a broken row and no return counts as a purchase. An order of returned lines
    only is a credit note: its value lowers its customer's net spend (int_orders.net_amount is negative)."""
    returns = contract.returns
    is_return = pl.lit(False)
    if returns.negative_quantity and "quantity" in known:
        is_return = is_return | (pl.col("quantity") < 0).fill_null(False)
    if returns.order_id_prefix and "order_id" in known:
        is_return = is_return | pl.col("order_id").str.starts_with(returns.order_id_prefix).fill_null(False)
    changes = [
        pl.when(is_return)
        .then(pl.lit("returned"))
        .otherwise(pl.col("status") if "status" in known else None)
        .alias("status")
    ]
    if "quantity" in known:
        changes.append(
            pl.when(is_return).then(pl.col("quantity").abs()).otherwise(pl.col("quantity")).alias("quantity")
        )
    if "amount" in known:
        value = pl.col("amount").abs()
        refund = pl.col("refund_amount") if "refund_amount" in known else pl.lit(None, DECIMAL)
        changes += [
            pl.when(is_return).then(value).otherwise(pl.col("amount")).alias("amount"),
            pl.when(is_return).then(value).otherwise(refund).alias("refund_amount"),
        ]
        known.add("refund_amount")
    known.add("status")
    return lf.with_columns(changes)


def whole_name(lf: pl.LazyFrame, known: set[str]) -> pl.Expr:
    """The whole name where an export splits it and gives none: family name first and no space in Chinese
    (王 + 芳 = 王芳), given name first with a space otherwise (Julia Taylor); a whole name the export gives is kept.
    Identity compares and dim_customer shows the whole name, so an export that splits names still has one."""
    first = pl.col("first_name") if "first_name" in known else pl.lit(None, pl.String)
    last = pl.col("last_name") if "last_name" in known else pl.lit(None, pl.String)
    han = pl.concat_str([last, first], ignore_nulls=True).str.contains(r"\p{Han}")
    composed = (
        pl.when(han)
        .then(pl.concat_str([last, first], ignore_nulls=True))
        .otherwise(pl.concat_str([first, last], separator=" ", ignore_nulls=True))
    )
    whole = pl.col("name") if "name" in known else pl.lit(None, pl.String)
    return pl.coalesce(whole, pl.when(composed != "").then(composed))


def to_canonical(
    lf: pl.LazyFrame,
    contract: SourceContract,
    *,
    source_file: str,
    file_sha256: str,
    ingested_at: datetime,
    warehouse_tz: str,
    country: str = "CN",
) -> pl.LazyFrame:
    """Map a frame from `read_source_file` to the canonical columns of the contract's entity plus lineage."""
    types = contract.target_types()
    renames = {src: (t.name if isinstance(t, HelperColumn) else t) for src, t in contract.columns.items()}
    lf = lf.rename(renames)
    names = list(types)
    nulls = contract.null_values
    lf = lf.with_columns(
        [
            pl.when(pl.col(c).str.strip_chars().is_in(nulls)).then(None).otherwise(pl.col(c).str.strip_chars()).alias(c)
            for c in names
        ]
    )
    if contract.fill_down:
        # values given on an order's first line only, carried down its lines (never across orders)
        order = pl.col("order_id")
        lf = lf.with_columns(
            pl.when(order.is_not_null())
            .then(pl.col(renames[c]).forward_fill().over(order))
            .otherwise(pl.col(renames[c]))
            .alias(renames[c])
            for c in contract.fill_down
        )
    # Clean what the suites judge by format (phones, e-mails, names); other strings are only trimmed.
    canonical_strings = {c for c, t in ENTITIES[contract.entity].items() if t == "string"}
    cleaning = {c: cleaning_for(c, country) for c in names if types[c] == "string" and c in canonical_strings}
    lf = lf.with_columns([expr.alias(c) for c, expr in cleaning.items() if expr is not None])
    # Type into shadow columns first so each value is parsed once and compared with its text once.
    lf = lf.with_columns([_parse(c, types[c], contract, warehouse_tz).alias(f"__typed_{c}") for c in names])
    # Name every non-empty value that did not survive typing, e.g. "ordered_at=2024-13-01".
    errors = [
        pl.when(pl.col(c).is_not_null() & pl.col(f"__typed_{c}").is_null()).then(
            pl.lit(f"{c}=") + pl.col(c).str.slice(0, 80)
        )
        for c in names
        if types[c] != "string"
    ]
    parse_errors = pl.concat_str(errors, separator="; ", ignore_nulls=True) if errors else pl.lit(None, pl.String)
    lf = lf.with_columns(pl.when(parse_errors == "").then(None).otherwise(parse_errors).alias("_parse_errors"))
    lf = lf.with_columns([pl.col(f"__typed_{c}").alias(c) for c in names]).drop([f"__typed_{c}" for c in names])

    known = set(names)
    canonical = ENTITIES[contract.entity]
    for target, text in contract.derived.items():
        expr, casts = derived_expression(text, known)
        lf = lf.with_columns(expr.cast(POLARS_TYPES[canonical[target]], strict=False).alias(target))
        # a value a CAST cannot convert is named, and its row quarantined (parse_errors), not the file failed
        failed = [
            pl.when(operand.is_not_null() & converted.is_null()).then(
                pl.lit(f"{target}: {written} of ") + operand.cast(pl.String).str.slice(0, 80)
            )
            for operand, converted, written in casts
        ]
        if failed:
            lf = lf.with_columns(
                pl.concat_str([pl.col("_parse_errors"), *failed], separator="; ", ignore_nulls=True)
                .replace("", None)
                .alias("_parse_errors")
            )
        known.add(target)

    if {"first_name", "last_name"} & known and "name" in canonical:
        lf = lf.with_columns(whole_name(lf, known).alias("name"))
        known.add("name")
    if contract.returns is not None:
        lf = _as_refunds(lf, contract, known)
    if contract.entity == "orders":
        # A line number makes (order id, line) a key: whole orders are line 1, lines count up per order id
        # in file order. A receipt without a number gets its id from its row below, so it is line 1 too.
        line = pl.col("line_number") if "line_number" in known else pl.lit(None, pl.Int64)
        if "order_id" not in known:  # an export without order numbers: each row is an order of its own
            lf = lf.with_columns(pl.coalesce(line, pl.lit(1)).alias("line_number"))
        else:
            ordinal = pl.int_range(1, pl.len() + 1).over("order_id") if contract.grain == "order_line" else pl.lit(1)
            lf = lf.with_columns(
                pl.when(pl.col("order_id").is_null())
                .then(pl.lit(1))
                .otherwise(pl.coalesce(line, ordinal))
                .alias("line_number")
            )
        known.add("line_number")

    record_id = RECORD_ID[contract.entity]
    columns = []
    for col, kind in canonical.items():
        expr = pl.col(col) if col in known else pl.lit(None, POLARS_TYPES[kind])
        if col == "currency":  # the contract's currency, unless the export names one per row
            expr = pl.coalesce(expr, pl.lit(contract.currency)) if col in known else pl.lit(contract.currency)
        if col == record_id:
            # Rows with no id of their own get one from their place: "<source>:<file>:<row>".
            expr = pl.coalesce(
                expr,
                pl.format("{}:{}:{}", pl.lit(contract.source), pl.lit(source_file), pl.col("_row_number")),
            )
        columns.append(expr.cast(POLARS_TYPES[kind]).alias(col))
    return lf.select(
        *columns,
        pl.lit(contract.source).alias("_source"),
        pl.lit(source_file).alias("_source_file"),
        pl.col("_row_number").cast(pl.Int64),
        pl.lit(file_sha256).alias("_file_sha256"),
        pl.lit(ingested_at).cast(pl.Datetime("us")).alias("_ingested_at"),
        pl.col("_parse_errors"),
        *([pl.col("_record_hash")] if "_record_hash" in lf.collect_schema().names() else []),
    )
