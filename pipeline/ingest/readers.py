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

import codecs
import csv
import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.contracts.model import SourceContract

CHUNK = 4 * 1024 * 1024
_UTF8 = {"utf-8", "utf8", "utf_8", "utf-8-sig", "utf_8_sig"}
# GB18030 is a strict superset of GBK and GB2312: decoding with it accepts every valid GBK file.
_DECODE_AS = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030"}


class SourceReadError(ValueError):
    """A file that cannot be read as its contract says. The message names the file."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def transcode_to_utf8(path: Path, encoding: str, workdir: Path) -> Path:
    """Stream `path` from `encoding` to a UTF-8 copy in `workdir`; memory stays at one chunk."""
    name = codecs.lookup(encoding).name
    decoder = codecs.getincrementaldecoder(_DECODE_AS.get(name, name))(errors="strict")
    out = Path(tempfile.mkstemp(suffix=".csv", dir=workdir)[1])
    line, offset = 1, 0
    with open(path, "rb") as src, open(out, "w", encoding="utf-8", newline="") as dst:
        while True:
            chunk = src.read(CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                bad_at = offset + exc.start
                line += chunk[: exc.start].count(b"\n")
                raise SourceReadError(
                    f"{path}: line {line}: byte offset {bad_at} is not valid {encoding} ({exc.reason})"
                ) from None
            dst.write(text)
            line += chunk.count(b"\n")
            offset += len(chunk)
            if not chunk:
                break
    return out


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


def _ragged(path: Path, contract: SourceContract) -> bool:
    """Whether any line holds another number of separators than the header.

    Polars fills a short line with nulls without a word; this cheap count sends such files (and files whose
    quoted values hold separators or newlines) to the exact line-by-line reader.
    """
    lines = pl.read_csv(
        path,
        has_header=False,
        new_columns=["line"],
        separator="\x1f",
        quote_char=None,
        infer_schema=False,
        skip_rows=contract.header_row - 1,
    )
    if lines.height == 0:
        return False
    counts = lines.select(pl.col("line").str.count_matches(contract.delimiter, literal=True))["line"]
    body = counts.slice(1).filter(lines["line"].slice(1).is_not_null())
    return bool((body != counts[0]).any())


def _csv_line_by_line(path: Path, contract: SourceContract) -> SourceRead:
    """The slow path for a CSV Polars refuses: rows with the wrong number of fields are set aside, not lost."""
    good: list[list[str]] = []
    rows: list[int] = []
    bad: list[tuple[int, str, str]] = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=contract.delimiter)
        for _ in range(contract.header_row - 1):
            next(reader, None)
        header = next(reader, None) or []
        for record in reader:
            line = reader.line_num
            if len(record) == len(header):
                good.append(record)
                rows.append(line)
            elif record:  # blank lines are not rows
                text = contract.delimiter.join(record)
                bad.append((line, text, f"{len(record)} fields where the header has {len(header)}"))
    frame = pl.DataFrame(good, schema=dict.fromkeys(header, pl.String), orient="row")
    frame = frame.with_columns(pl.Series("_row_number", rows, dtype=pl.Int64))
    return SourceRead(frame, header, pl.DataFrame(bad, schema=MALFORMED_SCHEMA, orient="row"))


def _jsonl_line_by_line(path: Path) -> SourceRead:
    """The slow path for JSON lines Polars refuses: each broken line is set aside with its line number."""
    good: list[dict] = []
    rows: list[int] = []
    bad: list[tuple[int, str, str]] = []
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
    return SourceRead(frame, header, pl.DataFrame(bad, schema=MALFORMED_SCHEMA, orient="row"))


def read_source_file(path: Path, contract: SourceContract, workdir: Path) -> SourceRead:
    """Read a whole file as text. Raises SourceReadError, naming the file, when it cannot be read at all."""
    path = Path(path)
    first_data_row = contract.header_row + 1
    if contract.format == "csv":
        csv_path = path
        if contract.encoding.lower().replace("_", "-") not in _UTF8:
            csv_path = transcode_to_utf8(path, contract.encoding, workdir)
        try:
            if _ragged(csv_path, contract):
                raise pl.exceptions.ComputeError("lines with a different number of fields than the header")
            frame = _csv_strict(csv_path, contract, first_data_row)
            read = SourceRead(frame, [c for c in frame.columns if c != "_row_number"])
        except pl.exceptions.NoDataError:
            raise SourceReadError(f"{path}: the file is empty (no header row)") from None
        except pl.exceptions.ComputeError as exc:
            if "utf-8" in str(exc).lower():
                _check_utf8(csv_path, contract.encoding)  # raises, naming the line
            if "fields" not in str(exc):
                raise SourceReadError(f"{path}: cannot read as CSV: {exc}") from None
            read = _csv_line_by_line(csv_path, contract)
    elif contract.format == "xlsx":
        read = _read_xlsx(path, contract, first_data_row)
    elif contract.format == "jsonl":
        try:
            frame = pl.read_ndjson(path, infer_schema_length=None, row_index_name="_row_number", row_index_offset=1)
            frame = frame.with_columns(pl.exclude("_row_number").cast(pl.String))
            read = SourceRead(frame, [c for c in frame.columns if c != "_row_number"])
        except pl.exceptions.PolarsError:
            read = _jsonl_line_by_line(path)
    elif contract.format == "parquet":
        frame = pl.read_parquet(path).with_row_index("_row_number", offset=1)
        frame = frame.with_columns(pl.col("_row_number").cast(pl.Int64), pl.exclude("_row_number").cast(pl.String))
        read = SourceRead(frame, [c for c in frame.columns if c != "_row_number"])
    else:  # pragma: no cover - the contract model forbids other formats
        raise SourceReadError(f"{path}: unsupported format {contract.format!r}")
    read.frame = read.frame.with_columns(pl.col("_row_number").cast(pl.Int64))
    return read


def _check_utf8(path: Path, encoding: str) -> None:
    """Polars says a file is not UTF-8 but not where; find the line for the message."""
    line, offset = 1, 0
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line += chunk[: exc.start].count(b"\n")
                raise SourceReadError(
                    f"{path}: line {line}: byte offset {offset + exc.start} is not valid {encoding} ({exc.reason})"
                ) from None
            line += chunk.count(b"\n")
            offset += len(chunk)


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
        frame = pl.read_excel(
            path,
            sheet_name=contract.sheet or sheets[0],
            read_options={"header_row": contract.header_row - 1},
            infer_schema_length=0,
        )
    except Exception as exc:
        raise SourceReadError(f"{path}: cannot read as Excel: {exc}") from None
    header = frame.columns
    return SourceRead(frame.with_row_index("_row_number", offset=first_data_row), header)
