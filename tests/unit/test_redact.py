"""Error messages that reach Dagster's event log and compute logs (which `crmgrade erase` cannot reach) keep the
rule, column, file and row, never the cell (quality/redact.py)."""

import polars as pl
import pytest

from pipeline.quality.redact import without_values


def test_a_polars_conversion_error_keeps_the_column_not_the_phone():
    with pytest.raises(pl.exceptions.InvalidOperationError) as info:
        pl.DataFrame({"phone_text": ["180-3891-3590"]}).select(pl.col("phone_text").cast(pl.Int64, strict=True))
    message = without_values(str(info.value))
    assert "180-3891-3590" not in message and "phone_text" in message


def test_a_duckdb_conversion_error_keeps_the_row_not_the_value():
    import duckdb

    with pytest.raises(duckdb.ConversionException) as info:
        duckdb.sql("select '138 0013 8000 转 1'::bigint").fetchall()
    assert "138 0013 8000" in str(info.value)
    assert "138 0013 8000" not in without_values(str(info.value))


def test_phones_and_e_mails_anywhere_go_and_dates_counts_and_line_numbers_stay():
    message = (
        "o.csv line 12: read 1,234,567 rows on 2026-07-01 12:00:00 (byte offset 0); "
        "zhang.san@example.cn +86 138-1234-5678 13812345678 0086 13812345678"
    )
    assert without_values(message) == ("o.csv line 12: read 1,234,567 rows on 2026-07-01 12:00:00 (byte offset 0); … …")
