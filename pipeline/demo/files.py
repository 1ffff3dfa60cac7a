"""Writing the demo files: CSV encodings and layouts, row numbers, planted defects and duplicates, monthly and daily
file names, and the planted truth every writer adds its records to."""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl


# --------------------------------------------------------------------------------------------------------------
# writing helpers
# --------------------------------------------------------------------------------------------------------------
def add_row_numbers(df: pl.DataFrame, header_row: int = 1) -> pl.DataFrame:
    """The row a person opening the file sees the record on (header on `header_row`)."""
    return df.with_columns((pl.int_range(pl.len()).over("file") + header_row + 1).alias("row_number"))


def write_csv_file(df: pl.DataFrame, path: Path, encoding: str = "utf-8", separator: str = ",") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if encoding == "utf-8":
        df.write_csv(path, separator=separator)
        return
    buf = io.BytesIO()
    df.write_csv(buf, separator=separator)
    text = buf.getvalue().decode("utf-8")
    with open(path, "wb") as fh:
        if encoding == "utf-8-sig":
            fh.write(b"\xef\xbb\xbf" + text.encode("utf-8"))
        else:
            fh.write(text.encode(encoding))


def write_per_file(df: pl.DataFrame, root: Path, **kw) -> None:
    """Write each value of column `file` as its own file, with every other column."""
    for (file,), part in df.partition_by("file", as_dict=True, maintain_order=True).items():
        write_csv_file(part.drop("file"), root / file, **kw)


def line_amount_expr() -> pl.Expr:
    """An order's amount split over its lines; the last line takes the rounding remainder."""
    base = (pl.col("amount") / pl.col("n_lines")).round(2)
    last = pl.col("line") == pl.col("n_lines") - 1
    return (
        pl.when(last)
        .then(pl.col("amount") - base * (pl.col("n_lines") - 1))
        .otherwise(base)
        .round(2)
        .alias("line_amount")
    )


def plant_defects(df: pl.DataFrame, rng: np.random.Generator, share: float, defects: dict[str, dict]) -> pl.DataFrame:
    """Give a `share` of rows one defect each; `defects` maps defect name -> {column: expression}."""
    n = df.height
    names = list(defects)
    hit = rng.random(n) < share
    kind = np.where(hit, np.asarray(names)[rng.integers(0, len(names), n)], "")
    df = df.with_columns(pl.Series("defect", kind).replace("", None))
    for name, changes in defects.items():
        df = df.with_columns(
            [
                pl.when(pl.col("defect") == name).then(expr).otherwise(pl.col(col)).alias(col)
                for col, expr in changes.items()
            ]
        )
    return df


def duplicate_rows(df: pl.DataFrame, rng: np.random.Generator, share: float, sort_by: list[str]) -> pl.DataFrame:
    """Repeat a `share` of rows verbatim (a re-export glitch); the copy is marked as defect 'exact_duplicate'."""
    pick = np.flatnonzero(rng.random(df.height) < share)
    copies = df[pick].with_columns(pl.lit("exact_duplicate").alias("defect"), pl.lit(1).alias("_copy"))
    out = pl.concat([df.with_columns(pl.lit(0).alias("_copy")), copies], how="vertical_relaxed")
    return out.sort([*sort_by, "_copy"]).drop("_copy")


class Truth:
    """Collects truth rows from every writer (writers run on several threads; `records()` orders by source)."""

    def __init__(self) -> None:
        self._records: dict[str, pl.DataFrame] = {}

    def add(self, source: str, df: pl.DataFrame, record_id: str) -> None:
        cols = [
            pl.lit(source).alias("source"),
            pl.col("file"),
            pl.col("row_number").cast(pl.Int64),
            pl.col(record_id).cast(pl.String).alias("record_id"),
            pl.col("person_id").cast(pl.Int64),
            (pl.col("defect") if "defect" in df.columns else pl.lit(None, pl.String)).alias("defect"),
            (pl.col("is_duplicate_record") if "is_duplicate_record" in df.columns else pl.lit(False)).alias(
                "is_duplicate_record"
            ),
        ]
        self._records[source] = df.select(cols)

    def records(self) -> pl.DataFrame:
        return pl.concat([self._records[s] for s in sorted(self._records)], rechunk=False)


def month_file(prefix: str, ts: str = "ordered_at", ext: str = "csv", daily_from: date | None = None) -> pl.Expr:
    """One file per month; from `daily_from` on, one per day (named _YYYYMMDD, moved to increments/)."""
    monthly = pl.format("{}{}.{}", pl.lit(prefix), pl.col(ts).dt.strftime("%Y%m"), pl.lit(ext))
    if daily_from is None:
        return monthly
    daily = pl.format("{}{}.{}", pl.lit(prefix), pl.col(ts).dt.strftime("%Y%m%d"), pl.lit(ext))
    return pl.when(pl.col(ts).dt.date() >= daily_from).then(daily).otherwise(monthly)


_DAILY_FILE = re.compile(r"_(\d{8})\.[a-z]+$")


def move_daily_files(out: Path, daily_from: date) -> int:
    """Move the per-day files to increments/<YYYY-MM-DD>/<their path>; returns how many."""
    moved = 0
    for path in sorted(p for p in out.rglob("*") if p.is_file() and "increments" not in p.parts):
        match = _DAILY_FILE.search(path.name)
        if not match:
            continue
        day = datetime.strptime(match.group(1), "%Y%m%d").date()
        if day >= daily_from:
            target = out / "increments" / day.isoformat() / path.relative_to(out)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)
            moved += 1
    return moved
