"""Read one source file into a LazyFrame of strings, whatever its format and encoding.

Everything is read as text so that nothing is coerced silently: typing happens in `transform`, which
records every value it cannot parse. Each row gets `_row_number`, the line/row a person would find it on
when opening the file (the header is on `header_row`, the first data row is `header_row + 1`).
"""

from __future__ import annotations

import codecs
import hashlib
import tempfile
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


def _check_columns(path: Path, contract: SourceContract, header: list[str]) -> None:
    missing = [c for c in contract.columns if c not in header]
    if missing:
        raise SourceReadError(
            f"{path}: column(s) {missing} declared in the contract of source {contract.source!r} "
            f"are not in the file's header (row {contract.header_row}); the file has {header}"
        )


def read_source_file(path: Path, contract: SourceContract, workdir: Path) -> pl.LazyFrame:
    """A lazy frame with the contract's source columns (all strings) and `_row_number`."""
    path = Path(path)
    first_data_row = contract.header_row + 1
    if contract.format == "csv":
        csv_path = path
        if contract.encoding.lower().replace("_", "-") not in _UTF8:
            csv_path = transcode_to_utf8(path, contract.encoding, workdir)
        try:
            lf = pl.scan_csv(
                csv_path,
                separator=contract.delimiter,
                skip_rows=contract.header_row - 1,
                infer_schema=False,
                encoding="utf8",  # Polars drops a UTF-8 byte-order mark itself
                row_index_name="_row_number",
                row_index_offset=first_data_row,
            )
            header = lf.collect_schema().names()
        except pl.exceptions.PolarsError as exc:
            raise SourceReadError(f"{path}: cannot read as CSV: {exc}") from None
    elif contract.format == "xlsx":
        try:
            df = pl.read_excel(
                path,
                sheet_name=contract.sheet,
                read_options={"header_row": contract.header_row - 1},
                infer_schema_length=0,
            )
        except Exception as exc:
            raise SourceReadError(f"{path}: cannot read as Excel: {exc}") from None
        header = df.columns
        lf = df.with_row_index("_row_number", offset=first_data_row).lazy()
    elif contract.format == "jsonl":
        try:
            lf = pl.scan_ndjson(path, infer_schema_length=10_000, row_index_name="_row_number", row_index_offset=1)
            header = lf.collect_schema().names()
        except pl.exceptions.PolarsError as exc:
            raise SourceReadError(f"{path}: cannot read as JSON lines: {exc}") from None
    elif contract.format == "parquet":
        lf = pl.scan_parquet(path).with_row_index("_row_number", offset=1)
        header = lf.collect_schema().names()
    else:  # pragma: no cover - the contract model forbids other formats
        raise SourceReadError(f"{path}: unsupported format {contract.format!r}")
    header = [c for c in header if c != "_row_number"]
    _check_columns(path, contract, header)
    source_cols = list(contract.columns)
    # Missing JSON keys and typed Parquet/JSON values all become text here.
    return lf.select(pl.col("_row_number").cast(pl.Int64), *[pl.col(c).cast(pl.String) for c in source_cols])
