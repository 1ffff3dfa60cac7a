"""Read one source file into a frame of strings, whatever its format and encoding.

Everything is read as text so that nothing is coerced silently: typing happens in `transform`, which
records every value it cannot parse. Each row gets `_row_number`, the line/row a person would find it on
when opening the file (the header is on `header_row`, the first data row is `header_row + 1`).

Files are read fast by Polars; a CSV line with the wrong number of fields or a broken JSON line sends the
file down a slower line-by-line path that sets those lines aside (`SourceRead.malformed`) instead of
failing the file or dropping them. A file that cannot be read at all (wrong encoding, empty, not Excel)
raises SourceReadError with the file and, where there is one, the line.
"""

from __future__ import annotations

import csv
import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import polars as pl

from pipeline.contracts.model import SourceContract
from pipeline.ingest.decoding import Decoded, UndecodableHeader, is_utf8, to_utf8, unreadable_lines
from pipeline.ingest.excel_bounds import SheetTooLarge, check_sheet_size, column_letters
from pipeline.ingest.excel_cells import SheetCells, scan_sheet

CHUNK = 4 * 1024 * 1024
# The line-by-line reader takes fields up to this size (Python's csv module stops at 128 KiB by default).
MAX_FIELD_BYTES = 64 * 1024 * 1024


class SourceReadError(ValueError):
    """A file that cannot be read as its contract says. The message names the file."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class SourceRead:
    """One file as read: every column as text, plus the lines that could not be split into its columns."""

    frame: pl.DataFrame  # the file's columns (strings) and `_row_number`
    header: list[str]
    malformed: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=MALFORMED_SCHEMA))

    @property
    def rows_read(self) -> int:
        return self.frame.height + self.malformed.height

    def missing_columns(self, contract: SourceContract) -> list[str]:
        return [c for c in contract.columns if c not in self.header]

    def ambiguous_columns(self, contract: SourceContract) -> list[tuple[str, list[int]]]:
        """(name, 1-based positions) of the mapped columns the header holds more than once: which one the
        contract means cannot be told (the readers name a repeat `手机_duplicated_0`)."""
        out = []
        for name in contract.columns:
            repeats = [i for i, h in enumerate(self.header, 1) if h == name or h.startswith(f"{name}_duplicated_")]
            if len(repeats) > 1:
                out.append((name, repeats))
        return out


MALFORMED_SCHEMA = {"_row_number": pl.Int64, "text": pl.String, "reason": pl.String}


def _csv_strict(path: Path, contract: SourceContract, first_data_row: int) -> pl.DataFrame:
    return pl.read_csv(
        path,
        separator=contract.delimiter,
        skip_rows=contract.header_row - 1,
        infer_schema=False,
        encoding="utf8",  # Polars drops a UTF-8 byte-order mark itself
        row_index_name="_row_number",
        row_index_offset=first_data_row,
    )


def _lines(path: Path, contract: SourceContract) -> pl.Series:
    """The file's lines from the header on, unsplit (a blank line is null)."""
    return pl.read_csv(
        path,
        has_header=False,
        new_columns=["line"],
        separator="\x1f",
        quote_char=None,
        infer_schema=False,
        skip_rows=contract.header_row - 1,
    )["line"]


def _csv_fast(path: Path, contract: SourceContract, first_data_row: int) -> SourceRead | None:
    """Polars' reader, when it is sure to read each line as one row; None sends the file to `_csv_line_by_line`.

    Polars fills a short line with nulls without a word, reads a blank line as a row of nulls, and a stray
    quote (`id"x` in a header) makes it read the rest of the file as one value. So the fast path is taken only
    when every line holds as many separators as the header, no line is blank, and Polars returns one row for
    each line after the header; otherwise the exact line-by-line reader decides, line by line.
    """
    try:
        lines = _lines(path, contract)
    except pl.exceptions.NoDataError:
        raise SourceReadError(f"{path}: the file is empty (no header row)") from None
    if lines.is_null().all():
        raise SourceReadError(f"{path}: the file is empty (no header row)")
    body = lines.slice(1)
    if body.is_null().any():
        return None
    counts = lines.str.count_matches(contract.delimiter, literal=True)
    if bool((counts.slice(1) != counts[0]).any()):
        return None
    try:
        frame = _csv_strict(path, contract, first_data_row)
    except pl.exceptions.NoDataError:
        raise SourceReadError(f"{path}: the file is empty (no header row)") from None
    except pl.exceptions.ComputeError as exc:
        if "fields" in str(exc) or "quote" in str(exc).lower():
            return None
        raise SourceReadError(f"{path}: cannot read as CSV: {exc}") from None
    if frame.height != body.len():
        return None
    return SourceRead(frame, [c for c in frame.columns if c != "_row_number"])


def _unique_names(header: list[str]) -> list[str]:
    """Repeated column names made unique as Polars does (a second `备注` becomes `备注_duplicated_0`)."""
    seen: dict[str, int] = {}
    out = []
    for name in header:
        if name in seen:
            out.append(f"{name}_duplicated_{seen[name]}")
            seen[name] += 1
        else:
            seen[name] = 0
            out.append(name)
    return out


def _csv_line_by_line(path: Path, contract: SourceContract, bad_lines: list[tuple[int, str, str]]) -> SourceRead:
    """The exact reader (Python's csv module): rows with the wrong number of fields are set aside, not lost.

    A row is numbered by the line it starts on; `bad_lines` (lines that did not decode, left empty in `path`)
    are set aside with the others."""
    good: list[list[str]] = []
    rows: list[int] = []
    bad: list[tuple[int, str, str]] = list(bad_lines)
    csv.field_size_limit(MAX_FIELD_BYTES)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=contract.delimiter)
        try:
            for _ in range(contract.header_row - 1):
                next(reader, None)
            header = _unique_names(next(reader, None) or [])
            ended = reader.line_num
            for record in reader:
                start, ended = ended + 1, reader.line_num
                if len(record) == len(header):
                    good.append(record)
                    rows.append(start)
                elif record:  # blank lines are not rows
                    text = contract.delimiter.join(record)
                    lines = f" (lines {start}-{ended})" if ended > start else ""
                    bad.append((start, text, f"{len(record)} fields where the header has {len(header)}{lines}"))
        except csv.Error as exc:
            raise SourceReadError(f"{path}: line {reader.line_num + 1}: cannot read as CSV: {exc}") from None
    if not header:
        raise SourceReadError(f"{path}: the file is empty (no header row)")
    frame = pl.DataFrame(good, schema=dict.fromkeys(header, pl.String), orient="row")
    frame = frame.with_columns(pl.Series("_row_number", rows, dtype=pl.Int64))
    malformed = pl.DataFrame(sorted(bad), schema=MALFORMED_SCHEMA, orient="row")
    return SourceRead(frame, header, malformed)


def _jsonl_line_by_line(path: Path, bad_lines: list[tuple[int, str, str]]) -> SourceRead:
    """The slow path for JSON lines Polars refuses: each broken line is set aside with its line number."""
    good: list[dict] = []
    rows: list[int] = []
    bad: list[tuple[int, str, str]] = list(bad_lines)
    with open(path, encoding="utf-8-sig") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("a line must hold one JSON object")
            except ValueError as exc:
                bad.append((line_no, line.rstrip("\n")[:2000], f"not a JSON object: {exc}"))
                continue
            good.append(
                {k: None if v is None else (v if isinstance(v, str) else json.dumps(v)) for k, v in record.items()}
            )
            rows.append(line_no)
    header = list(dict.fromkeys(k for r in good for k in r))
    frame = pl.DataFrame(good, schema=dict.fromkeys(header, pl.String)).with_columns(
        pl.Series("_row_number", rows, dtype=pl.Int64)
    )
    return SourceRead(frame, header, pl.DataFrame(sorted(bad), schema=MALFORMED_SCHEMA, orient="row"))


def _lines_before_data(contract: SourceContract) -> int:
    """The lines above the first row: the header and any title rows of a CSV; none in JSON lines."""
    return contract.header_row if contract.format == "csv" else 0


def _decoded(path: Path, contract: SourceContract, workdir: Path) -> Decoded:
    try:
        return to_utf8(path, contract.encoding, workdir, _lines_before_data(contract))
    except UndecodableHeader as exc:
        raise SourceReadError(f"{path}: {exc}") from None


def _with_line_feeds(path: Path, workdir: Path) -> Path:
    """A file whose lines end in a carriage return alone (classic Mac, Excel for Mac's CSV) as a copy of the same
    name ending them in line feeds, which the readers split on; any other file as it is. (0x0D is never part of
    a multi-byte UTF-8 or GBK character.)"""
    with open(path, "rb") as fh:
        head = fh.read(CHUNK)
    if b"\r" not in head or b"\n" in head:
        return path
    copy = workdir / "line_feeds" / path.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_bytes(path.read_bytes().replace(b"\r", b"\n"))
    return copy


def _read_csv(path: Path, contract: SourceContract, workdir: Path, first_data_row: int) -> SourceRead:
    path = _with_line_feeds(path, workdir)
    decoded = Decoded(path) if is_utf8(contract.encoding) else _decoded(path, contract, workdir)
    if not decoded.bad_lines:
        try:
            read = _csv_fast(decoded.path, contract, first_data_row)
        except pl.exceptions.ComputeError as exc:
            if "utf-8" not in str(exc).lower():
                raise SourceReadError(f"{path}: cannot read as CSV: {exc}") from None
            decoded = _decoded(path, contract, workdir)  # a UTF-8 file with a bad byte: by line
            read = None if decoded.bad_lines else _csv_fast(decoded.path, contract, first_data_row)
        if read is not None:
            return read
    return _csv_line_by_line(decoded.path, contract, decoded.bad_lines)


def _jsonl_fast(path: Path, contract: SourceContract) -> SourceRead | None:
    """Polars' reader, when every line is one JSON object; None sends the file to `_jsonl_line_by_line`."""
    try:
        frame = pl.read_ndjson(path, infer_schema_length=None, row_index_name="_row_number", row_index_offset=1)
        # Row numbers are line numbers only when no line is blank; else the line-by-line reader numbers them.
        lines = _lines(path, contract)
    except pl.exceptions.PolarsError:  # a broken line, or bytes that are not UTF-8
        return None
    if lines.is_null().any() or frame.height != lines.len():
        return None
    frame = frame.with_columns(pl.exclude("_row_number").cast(pl.String))
    return SourceRead(frame, [c for c in frame.columns if c != "_row_number"])


def _read_jsonl(path: Path, contract: SourceContract, workdir: Path) -> SourceRead:
    # As for CSV, a UTF-8 file is decoded apart only when Polars cannot read it (a bad byte, perhaps).
    decoded = Decoded(path) if is_utf8(contract.encoding) else _decoded(path, contract, workdir)
    if not decoded.bad_lines:
        read = _jsonl_fast(decoded.path, contract)
        if read is not None:
            return read
        if decoded.path == path:
            decoded = _decoded(path, contract, workdir)
    return _jsonl_line_by_line(decoded.path, decoded.bad_lines)


def read_source_file(path: Path, contract: SourceContract, workdir: Path) -> SourceRead:
    """Read a whole file as text. Raises SourceReadError, naming the file, when it cannot be read at all."""
    path = Path(path)
    first_data_row = contract.header_row + 1
    if contract.format == "csv":
        read = _read_csv(path, contract, workdir, first_data_row)
    elif contract.format == "xlsx":
        read = _read_xlsx(path, contract, first_data_row)
    elif contract.format == "jsonl":
        read = _read_jsonl(path, contract, workdir)
    elif contract.format == "parquet":
        try:
            frame = pl.read_parquet(path).with_row_index("_row_number", offset=1)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise SourceReadError(f"{path}: cannot read as Parquet: {exc}") from None
        frame = frame.with_columns(pl.col("_row_number").cast(pl.Int64), pl.exclude("_row_number").cast(pl.String))
        read = SourceRead(frame, [c for c in frame.columns if c != "_row_number"])
    else:  # pragma: no cover - the contract model forbids other formats
        raise SourceReadError(f"{path}: unsupported format {contract.format!r}")
    read.frame = read.frame.with_columns(pl.col("_row_number").cast(pl.Int64))
    return read


def unread_rows(path: Path, contract: SourceContract) -> list[tuple[int, str]]:
    """(line, text) of the rows of a file that could not be read: counted and quarantined, so none is lost.
    Only text formats have lines to count; a workbook or Parquet file that cannot be opened has none."""
    if contract.format not in ("csv", "jsonl"):
        return []
    return unreadable_lines(path, contract.encoding, _lines_before_data(contract))


def _read_xlsx(path: Path, contract: SourceContract, first_data_row: int) -> SourceRead:
    try:
        import fastexcel

        sheets = fastexcel.read_excel(str(path)).sheet_names
    except Exception as exc:
        raise SourceReadError(f"{path}: cannot read as Excel: {exc}") from None
    if contract.sheet is None and len(sheets) > 1:
        raise SourceReadError(
            f"{path}: the workbook has {len(sheets)} sheets {sheets}; name the one to read with `sheet:` "
            f"in the contract of source {contract.source!r}"
        )
    if contract.sheet is not None and contract.sheet not in sheets:
        raise SourceReadError(f"{path}: no sheet {contract.sheet!r}; the workbook has {sheets}")
    try:
        check_sheet_size(path, contract.sheet or sheets[0])
    except (SheetTooLarge, ValueError, KeyError, OSError, zipfile.BadZipFile) as exc:
        raise SourceReadError(f"{path}: sheet {contract.sheet or sheets[0]!r}: {exc}") from None
    try:
        frame = pl.read_excel(
            path,
            sheet_name=contract.sheet or sheets[0],
            read_options={"header_row": contract.header_row - 1},
            infer_schema_length=0,
        )
    except Exception as exc:
        raise SourceReadError(f"{path}: cannot read as Excel: {exc}") from None
    header = frame.columns
    try:
        cells = scan_sheet(path, contract.sheet or sheets[0], contract.header_row)
    except (ValueError, KeyError, OSError, zipfile.BadZipFile, ElementTree.ParseError) as exc:
        raise SourceReadError(f"{path}: sheet {contract.sheet or sheets[0]!r}: {exc}") from None
    if len(cells.data_rows) != frame.height:  # the reader saw other rows than the XML holds: number them in order
        return SourceRead(frame.with_row_index("_row_number", offset=first_data_row), header)
    frame = frame.with_columns(pl.Series("_row_number", cells.data_rows, dtype=pl.Int64))
    return _excel_cells_judged(frame, header, cells, contract)


def _cell_name(row: int, col: int) -> str:
    return f"{column_letters(col)}{row}"


def _excel_cells_judged(frame: pl.DataFrame, header: list[str], cells: SheetCells, contract: SourceContract):
    """Merged cells filled (or their rows set aside, `merged_cells: quarantine`); rows whose mapped cells hold a
    formula never calculated or an error value set aside, naming the cell (excel_cells.py)."""
    first = cells.header_first_column
    column_at = {first + i: name for i, name in enumerate(header)}  # Excel column -> frame column
    row_at = {r: i for i, r in enumerate(frame["_row_number"].to_list())}
    mapped = set(contract.columns)
    aside: dict[int, str] = {}  # Excel row -> why
    patches: dict[str, dict[int, str]] = {}  # frame column -> {frame row: value}
    for r1, c1, r2, c2 in cells.merged:
        if r1 not in row_at or column_at.get(c1) is None:
            continue  # a merged title or header: not data
        top_left = frame[column_at[c1]][row_at[r1]]
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                name = column_at.get(c)
                if (r, c) == (r1, c1) or r not in row_at or name is None:
                    continue
                if contract.merged_cells == "quarantine" and name in mapped:
                    aside.setdefault(
                        r,
                        f"cell {_cell_name(r, c)} is part of merged cell {_cell_name(r1, c1)}:"
                        f"{_cell_name(r2, c2)} (the contract says merged_cells: quarantine)",
                    )
                else:
                    patches.setdefault(name, {})[row_at[r]] = top_left
    for kind, found in (("uncalculated", cells.uncalculated), ("error", cells.errors)):
        for (r, c), text in sorted(found.items()):
            if r in row_at and column_at.get(c) in mapped and r not in aside:
                aside[r] = (
                    f"cell {_cell_name(r, c)} ({column_at[c]}) holds a formula no program calculated ({text}): open "
                    "and save the workbook in Excel, or export the sheet as CSV"
                    if kind == "uncalculated"
                    else f"cell {_cell_name(r, c)} ({column_at[c]}) holds the Excel error {text}"
                )
    for name, values in patches.items():
        column = frame[name].to_list()
        for i, value in values.items():
            column[i] = value
        frame = frame.with_columns(pl.Series(name, column, dtype=pl.String))
    if not aside:
        return SourceRead(frame, header)
    is_aside = pl.col("_row_number").is_in(list(aside))
    malformed = (
        frame.filter(is_aside)
        .select(
            "_row_number",
            pl.concat_str([pl.col(c).fill_null("") for c in header], separator="\t").alias("text"),
            pl.col("_row_number").replace_strict(aside, return_dtype=pl.String).alias("reason"),
        )
        .sort("_row_number")
    )
    return SourceRead(frame.filter(~is_aside), header, malformed)
