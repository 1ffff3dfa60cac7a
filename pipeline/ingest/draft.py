"""`crmgrade contract draft FILE`: a first source contract from a sample export, for a person to check.

It reads the start of the file and infers what a contract says: the encoding (UTF-8, else GB18030/GBK, else
charset-normalizer's best guess), the delimiter (csv.Sniffer), the header row (title rows above it skipped),
each column's type and the date formats that parse every sampled value, the decimal and thousands separators,
a proposed canonical column per header from a table of the names exports use (Chinese and English), the
entity those names point to, how order statuses map, and which lines are returns. What it cannot tell (the
currency, the time zone, an ambiguous day/month order) it says in a comment.

A contract is kept in git: the draft holds column names and formats, never a value of a row (a status word
is a code, not personal data).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from pipeline.contracts.schema import ENTITIES, ColumnType

SAMPLE_BYTES = 512 * 1024
SAMPLE_ROWS = 500
SPREAD_BYTES = 128 * 1024  # read again from the middle and the end of a larger file: exports change as they go
MONEY = ("amount", "unit_price", "refund_amount", "cost_amount")
TIME_TARGETS = ("ordered_at", "updated_at", "birth_date", "registered_at")  # dates even when they look like numbers
# words and signs beside an amount in a header or a value, and the currency they name (a proposal to check)
CURRENCY_WORDS = {
    "usd": "USD", "us$": "USD", "eur": "EUR", "€": "EUR", "cny": "CNY", "rmb": "CNY", "元": "CNY", "¥": "CNY",
    "￥": "CNY", "gbp": "GBP", "£": "GBP", "jpy": "JPY", "円": "JPY", "hkd": "HKD", "aud": "AUD", "cad": "CAD",
    "sgd": "SGD", "chf": "CHF", "krw": "KRW", "inr": "INR", "twd": "TWD", "$": "USD",
}  # fmt: skip

DATETIME_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S%z",  # ISO 8601 with an offset, +08:00 or -0500
    "%Y-%m-%d %H:%M:%S %z",  # Shopify's 'Created at': 2023-01-05 10:23:45 -0500
    "%Y-%m-%d %H:%M:%S UTC",
    "%Y-%m-%dT%H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y%m%d%H%M%S",
]
DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y%m%d"]

# Header names exports use per canonical column, and status words per canonical status (a data file).
_NAMES = yaml.safe_load((Path(__file__).with_name("header_names.yml")).read_text(encoding="utf-8"))
SYNONYMS: dict[str, list[str]] = {**_NAMES["columns"]}
for _column, _words in _NAMES["columns_european"].items():
    SYNONYMS[_column] = [*SYNONYMS.get(_column, []), *_words]
STATUS_WORDS: dict[str, list[str]] = _NAMES["statuses"]


class DraftError(ValueError):
    """A file from which no contract can be drafted; the message names the file."""


@dataclass
class DraftColumn:
    header: str
    kind: ColumnType
    target: str | None  # the canonical column proposed, None when nothing fits
    filled: int  # sampled rows with a value
    note: str = ""
    currency: str | None = None  # the currency its header names (amount_usd, 金额(元))


@dataclass
class Draft:
    file: Path
    format: str
    encoding: str
    delimiter: str
    header_row: int
    entity: str
    columns: list[DraftColumn]
    date_formats: list[str]
    datetime_formats: list[str]
    decimal_separator: str = "."
    thousands_separator: str = ","
    statuses: dict[str, str] = field(default_factory=dict)  # word in the export -> canonical status
    returns: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    rows_sampled: int = 0
    grain: str = "record"  # order_line when an order id repeats
    fill_down: list[str] = field(default_factory=list)  # headers filled on an order's first line only
    currency: str | None = None  # proposed from headers or value signs; None: nothing said
    currency_from: str = ""
    spread: bool = False  # rows from the middle and end of the file were sampled too


def _normalize(name: str) -> str:
    return re.sub(r"[\s_\-./()（）:：#*]+", "", name.strip().lower())


_LOOKUP = {_normalize(word): column for column, words in SYNONYMS.items() for word in words}
_CURRENCY_KEYS = sorted(CURRENCY_WORDS, key=len, reverse=True)


def lookup(header: str) -> tuple[str | None, str | None]:
    """The canonical column a header names, and the currency it names beside an amount ('amount_usd',
    '金额(元)', 'Betrag EUR'), if any."""
    key = _normalize(header)
    if key in _LOOKUP:
        return _LOOKUP[key], None
    for word in _CURRENCY_KEYS:
        for rest in (key[: -len(word)] if key.endswith(word) else "", key[len(word) :] if key.startswith(word) else ""):
            if rest and _LOOKUP.get(rest) in MONEY:
                return _LOOKUP[rest], CURRENCY_WORDS[word]
    return None, None


def sniff_encoding(sample: bytes) -> str:
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        return "utf-8" if encoding == "utf-8" else "gbk"
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None:
        raise DraftError("the file is not text in any encoding charset-normalizer knows")
    return best.encoding


def _rows(path: Path) -> tuple[list[list[str]], str, str]:
    """The rows of a CSV's first SAMPLE_BYTES as text, its encoding and its delimiter."""
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if not sample.strip():
        raise DraftError(f"{path}: the file is empty")
    if len(sample) == SAMPLE_BYTES and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]
    encoding = sniff_encoding(sample)
    text = sample.decode("gb18030" if encoding == "gbk" else encoding, errors="replace").lstrip("\ufeff")
    try:
        delimiter = csv.Sniffer().sniff(text[:20_000], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    # blank rows stay: header_row counts the lines a person sees, blank ones too
    return list(csv.reader(io.StringIO(text), delimiter=delimiter)), encoding, delimiter


def _later_rows(path: Path, encoding: str, delimiter: str) -> list[list[str]]:
    """Rows from the middle and the end of a file larger than the first sample: whole lines only (a line cut by
    the read, or a quoted value spanning lines, gives a row of another width, which the caller drops)."""
    size = path.stat().st_size
    if size <= SAMPLE_BYTES:
        return []
    codec = "gb18030" if encoding == "gbk" else encoding
    out: list[list[str]] = []
    with open(path, "rb") as fh:
        for start, at_end in ((size // 2, False), (max(size - SPREAD_BYTES, SAMPLE_BYTES), True)):
            fh.seek(start)
            chunk = fh.read(SPREAD_BYTES)
            if chunk.count(b"\n") < 2:
                continue
            chunk = chunk[chunk.index(b"\n") + 1 : chunk.rindex(b"\n") + 1]
            rows = list(csv.reader(io.StringIO(chunk.decode(codec, errors="replace")), delimiter=delimiter))
            out += rows[-(SAMPLE_ROWS // 2) :] if at_end else rows[: SAMPLE_ROWS // 2]
    return out


def _xlsx_rows(path: Path) -> list[list[str]]:
    import polars as pl

    from pipeline.ingest.excel_bounds import check_sheet_size

    check_sheet_size(path)
    frame = pl.read_excel(path, read_options={"header_row": None, "n_rows": SAMPLE_ROWS + 20}, infer_schema_length=0)
    return [["" if v is None else str(v) for v in row] for row in frame.rows()]


def _record_rows(path: Path) -> list[list[str]]:
    """JSON lines or Parquet as rows of text: the field names first (as the readers do, pipeline/ingest)."""
    import json

    import polars as pl

    if path.suffix.lower() == ".parquet":
        try:
            frame = pl.read_parquet(path, n_rows=SAMPLE_ROWS)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise DraftError(f"{path}: cannot read as Parquet: {exc}") from None
        records = frame.cast(pl.String).rows(named=True)
    else:
        records = []
        with open(path, encoding="utf-8-sig") as fh:
            for line in fh:
                if line.strip() and len(records) < SAMPLE_ROWS:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue  # a broken line: the reader sets it aside too
                    if isinstance(record, dict):
                        records.append(
                            {k: v if isinstance(v, str) or v is None else json.dumps(v) for k, v in record.items()}
                        )
    if not records:
        raise DraftError(f"{path}: no records to read")
    names = list(dict.fromkeys(k for r in records for k in r))
    return [names, *[["" if r.get(k) is None else str(r[k]) for k in names] for r in records]]


def _looks_like_data(value: str) -> bool:
    v = value.strip()
    return bool(re.fullmatch(r"[-+$¥￥€£(]?[\d.,:/ \-)]+[%元]?", v)) or _date_format(v) is not None


def _header_row(rows: list[list[str]]) -> int:
    """0-based: the first row with as many fields as most rows, mostly filled, and mostly not data."""
    width = Counter(len(r) for r in rows if any(v.strip() for v in r)).most_common(1)[0][0]
    for i, row in enumerate(rows[:20]):
        filled = [v for v in row if v.strip()]
        if len(row) == width and len(filled) * 2 >= width and sum(map(_looks_like_data, filled)) * 2 < len(filled):
            return i
    return 0


def _date_format(value: str) -> str | None:
    for fmt in DATETIME_FORMATS + DATE_FORMATS:
        try:
            datetime.strptime(value, fmt)
        except ValueError:
            continue
        return fmt
    return None


def _parses(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def _formats_parsing_all(values: list[str], formats: list[str]) -> list[str]:
    return [fmt for fmt in formats if all(_parses(v, fmt) for v in values)]


def _format_parsing_most(values: list[str], formats: list[str]) -> tuple[str, int] | None:
    """The format parsing the most values when none parses all, if it parses at least 95% of them; and how many
    it leaves (a few impossible dates in an export are rows to quarantine, not a reason to read it as text)."""
    parsed = {fmt: sum(_parses(v, fmt) for v in values) for fmt in formats}
    best = max(formats, key=parsed.__getitem__)
    n = parsed[best]
    return (best, len(values) - n) if n and n >= 0.95 * len(values) else None


def _number_notation(values: list[str]) -> tuple[str, str] | None:
    """(decimal separator, thousands separator) in which every value is a number, or None."""
    cleaned = [re.sub(r"[\s\u00a0$¥￥€£元]|CNY|RMB|USD|EUR|GBP", "", v).strip("()").rstrip("-") for v in values]
    for dec, thousands in ((".", ","), (",", "."), (",", " "), (".", "'")):
        t = re.escape(thousands)
        pattern = re.compile(rf"^[+-]?(\d{{1,3}}({t}\d{{3}})+|\d+)({re.escape(dec)}\d+)?$|^[+-]?{re.escape(dec)}\d+$")
        if all(pattern.match(v) for v in cleaned):
            return dec, thousands
    return None


def _column(header: str, values: list[str], draft_notes: list[str]) -> tuple[DraftColumn, list[str], str | None]:
    """A column's type and proposed target; the date formats its values need; its number notation."""
    present = [v.strip() for v in values if v.strip()]
    target, currency = lookup(header)
    if target in (None, "name", "buyer_name") and present and all(re.fullmatch(r"#\d+", v) for v in present):
        target = "order_id"  # '#1001': Shopify's order number, in a column it calls 'Name'
    kind: ColumnType = "string"
    formats: list[str] = []
    notation = None
    if present and not (target and target.endswith("_id")):  # ids look like numbers, and are text
        datetimes = _formats_parsing_all(present, DATETIME_FORMATS)
        dates = _formats_parsing_all(present, DATE_FORMATS)
        if not (datetimes or dates) and (target in TIME_TARGETS or not target):
            most = _format_parsing_most(present, DATETIME_FORMATS + DATE_FORMATS)
            if most:
                (datetimes if most[0] in DATETIME_FORMATS else dates).append(most[0])
                draft_notes.append(
                    f"{header}: {most[1]} of {len(present)} sampled values fit no date format (quarantined when loaded)"
                )
        numbers = _number_notation(present)
        if (datetimes or dates) and not (numbers and target not in TIME_TARGETS):
            formats = (datetimes or dates)[:1]
            kind = "timestamp" if datetimes else "date"
            if {"%m/%d/%Y", "%d/%m/%Y"} <= set(dates) or {"%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M"} <= set(datetimes):
                draft_notes.append(f"{header}: month/day or day/month - every sampled value fits both; check")
        elif numbers:
            kind = "decimal" if any(re.search(r"\d[.,]\d", v) for v in present) else "integer"
            notation = "".join(numbers)
    if target is not None:
        wanted = next((cols[target] for cols in ENTITIES.values() if target in cols), None)
        if wanted in ("decimal", "integer") and kind == "string" and present:
            draft_notes.append(f"{header}: named like {target} but its values are not all numbers; mapped as text")
            target = None
    return DraftColumn(header, kind, target, len(present), currency=currency), formats, notation


def _entity(targets: set[str]) -> str:
    def score(entity: str) -> tuple[int, int]:
        cols = ENTITIES[entity]
        return (len(targets & set(cols)), entity == "orders")

    return max(ENTITIES, key=score)


def draft_contract(path: Path, entity: str | None = None) -> Draft:
    """Infer a contract for files like `path`: CSV, an .xlsx workbook's first sheet, JSON lines or Parquet."""
    path = Path(path)
    notes: list[str] = []
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        rows, encoding, delimiter, fmt = _xlsx_rows(path), "utf-8", ",", "xlsx"
    elif suffix in (".jsonl", ".ndjson", ".parquet"):
        rows, encoding, delimiter, fmt = (
            _record_rows(path),
            "utf-8",
            ",",
            "parquet" if suffix == ".parquet" else "jsonl",
        )
    else:
        rows, encoding, delimiter = _rows(path)
        fmt = "csv"
    if not any(any(v.strip() for v in r) for r in rows):
        raise DraftError(f"{path}: no rows to read")
    h = _header_row(rows)
    header = rows[h]
    read = [r for r in rows[h + 1 :] if len(r) == len(header)]
    first, rest = read[:SAMPLE_ROWS], read[SAMPLE_ROWS:]
    # beyond the first rows: the middle and the end of what was read, then of the rest of a larger file
    half = SAMPLE_ROWS // 4
    later = (
        rest[max(len(rest) // 2 - half, 0) : len(rest) // 2 + half]
        + rest[max(len(rest) // 2 + half, len(rest) - 2 * half) :]
    )
    if fmt == "csv":
        later += [r for r in _later_rows(path, encoding, delimiter) if len(r) == len(header)]
    body = first + later
    columns, date_formats, datetime_formats, notations = [], [], [], Counter()
    seen_targets: set[str] = set()
    for i, name in enumerate(header):
        col, formats, notation = _column(name, [r[i] for r in body], notes)
        if col.target in seen_targets:  # one source column per canonical column: the first wins
            notes.append(f"{name}: also looks like {col.target}; left unmapped")
            col.target = None
        if col.target:
            seen_targets.add(col.target)
        (datetime_formats if col.kind == "timestamp" else date_formats).extend(
            f for f in formats if f not in datetime_formats + date_formats
        )
        if notation:
            notations[notation] += 1
        columns.append(col)
    chosen = entity or _entity(seen_targets)
    canonical = ENTITIES[chosen]
    for col in columns:
        # a person's name is `name` in a registry and `buyer_name` on an order ('客户名称' is either)
        alias = {"name": "buyer_name", "buyer_name": "name"}.get(col.target or "")
        if col.target and col.target not in canonical and alias in canonical and alias not in seen_targets:
            seen_targets.add(alias)
            col.target = alias
        elif col.target and col.target not in canonical:
            col.note = f"{col.target} is not a column of {chosen}"
            col.target = None
    draft = Draft(path, fmt, encoding, delimiter, h + 1, chosen, columns, date_formats, datetime_formats)
    draft.rows_sampled, draft.notes, draft.spread = len(body), notes, bool(later)
    if notations:
        # a thousands separator seen is kept; a column of plain integers says nothing about separators
        dec, thousands = max(notations, key=lambda n: (notations[n], n != ".,"))
        draft.decimal_separator, draft.thousands_separator = dec, thousands
    _currency(draft, body)
    if chosen == "orders":
        _orders_details(draft, first, body)
    return draft


def _currency(draft: Draft, body: list[list[str]]) -> None:
    """The currency the money headers name ('amount_usd'), else the sign its money values carry ('$12.50')."""
    money = [(i, c) for i, c in enumerate(draft.columns) if c.target in MONEY]
    named = {c.currency for _, c in money if c.currency}
    if len(named) == 1:
        draft.currency = named.pop()
        draft.currency_from = "the header " + ", ".join(_quote(c.header) for _, c in money if c.currency)
        return
    if len(named) > 1:
        draft.notes.append(f"the money headers name several currencies: {sorted(named)}")
        return
    signs = Counter(
        CURRENCY_WORDS[sign]
        for i, _ in money
        for r in body
        for sign in ("€", "£", "¥", "￥", "元", "$")
        if sign in r[i]
    )
    if len(signs) == 1:
        draft.currency, count = signs.popitem()
        draft.currency_from = f"the sign on {count} sampled amounts"
        return
    column = next((i for i, c in enumerate(draft.columns) if c.target == "currency"), None)
    codes = {r[column].strip().upper() for r in body if r[column].strip()} if column is not None else set()
    if len(codes) == 1 and re.fullmatch(r"[A-Z]{3}", next(iter(codes))):
        draft.currency = codes.pop()
        draft.currency_from = f"the column {_quote(draft.columns[column].header)}"


def _orders_details(draft: Draft, first: list[list[str]], body: list[list[str]]) -> None:
    by_target = {c.target: i for i, c in enumerate(draft.columns) if c.target}
    if "status" in by_target:
        words = sorted({r[by_target["status"]].strip() for r in body if r[by_target["status"]].strip()})
        lookup_status = {w.lower(): status for status, ws in STATUS_WORDS.items() for w in ws}
        draft.statuses = {w: lookup_status.get(w.lower(), "unknown") for w in words[:30]}
        unknown = [w for w, s in draft.statuses.items() if s == "unknown"]
        if unknown:
            draft.notes.append(
                f"statuses not recognised (mapped to 'unknown', quarantined until you map them): {unknown}"
            )
    if "order_id" in by_target:
        _order_lines(draft, first, by_target["order_id"])
    if "quantity" in by_target:
        q = by_target["quantity"]
        negative = [r for r in body if r[q].strip().startswith("-")]
        if negative:
            draft.returns["negative_quantity"] = True
            if "order_id" in by_target:
                o = by_target["order_id"]
                prefixes = {r[o].strip()[:1] for r in negative}
                positive = [r for r in body if r[q].strip() and not r[q].strip().startswith("-")]
                # a prefix every order shares ('SO...') would make every order a return
                if (
                    len(prefixes) == 1
                    and prefixes <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
                    and not any(r[o].strip().startswith(next(iter(prefixes))) for r in positive)
                ):
                    draft.returns["order_id_prefix"] = prefixes.pop()


def _order_lines(draft: Draft, first: list[list[str]], o: int) -> None:
    """grain order_line when an order id repeats in the rows read from the start (an order's lines are
    together there); then the columns an export fills on an order's first line only (Shopify's status, e-mail,
    total) are carried down to its other lines (fill_down), money excepted: a total on every line would be
    summed once per line."""
    lines: dict[str, list[list[str]]] = {}
    for r in dict.fromkeys(map(tuple, first)):  # a row exported twice is a duplicate, not a second line
        if r[o].strip():
            lines.setdefault(r[o].strip(), []).append(list(r))
    several = [rows for rows in lines.values() if len(rows) > 1]
    if not several:
        return
    draft.grain = "order_line"
    for i, col in enumerate(draft.columns):
        if not col.target or col.target in ("order_id", "line_number"):
            continue
        on_first_only = all(not r[i].strip() for rows in several for r in rows[1:])
        if on_first_only and any(rows[0][i].strip() for rows in several):
            if col.target in MONEY:
                draft.notes.append(
                    f"{col.header}: given on an order's first line only (an order's total): the order's value is "
                    "that line's; check it is not a line amount"
                )
            else:
                draft.fill_down.append(col.header)


def _quote(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)


def render_draft(draft: Draft, source: str) -> str:
    """The draft as contract YAML with comments; it loads with load_contract when at least one column maps."""
    d = draft
    mapped = [c for c in d.columns if c.target]
    lines = [
        f"# Draft contract for exports like {d.file.name} (crmgrade contract draft, {datetime.now():%Y-%m-%d}):",
        f"# inferred from {d.rows_sampled} rows{' of its start, middle and end' if d.spread else ''}. Check every "
        "line, then save it in sources.contracts.",
        "# No value of a row is written here (a contract is kept in git).",
        f"source: {source}",
        f"entity: {d.entity}                # {len(mapped)} of {len(d.columns)} columns mapped",
        f'path: {_quote(d.file.name)}        # a glob relative to sources.root, e.g. "{d.file.stem}*{d.file.suffix}"',
        f"format: {d.format}",
    ]
    if d.format == "csv":
        lines += [f"encoding: {d.encoding}", f"delimiter: {_quote(d.delimiter)}"]
    lines += [f"header_row: {d.header_row}" + ("                 # title rows above it" if d.header_row > 1 else "")]
    if d.grain == "order_line":
        lines += ["grain: order_line             # an order id repeats: one row per order line"]
    if d.currency:
        lines += [f"currency: {d.currency}                 # from {d.currency_from}: check"]
    elif d.entity in ("orders", "opportunities", "campaigns"):
        lines += ["currency: CNY                 # the ISO code of the amounts: check (it cannot be inferred)"]
    lines += [
        "timezone: Asia/Shanghai       # the time zone of the export's timestamps: check",
        f"decimal_separator: {_quote(d.decimal_separator)}",
        f"thousands_separator: {_quote(d.thousands_separator)}",
        "columns:" if mapped else "columns: {}                   # no column name recognised: map them below",
    ]
    for c in d.columns:
        if c.target == "status" and d.statuses:
            lines.append(f"  {_quote(c.header)}: {{name: status_text, type: string}}")
        elif c.target:
            lines.append(f"  {_quote(c.header)}: {c.target}")
    for c in d.columns:
        if not c.target:
            why = f"; {c.note}" if c.note else ""
            lines.append(
                f"  # {_quote(c.header)}: ?   ({c.kind}, {c.filled} of {d.rows_sampled} sampled rows filled{why})"
            )
    if d.fill_down:
        lines.append(f"fill_down: [{', '.join(map(_quote, d.fill_down))}]   # on an order's first line only")
    derived = _derived(d)
    if derived:
        lines.append("derived:")
        lines += [f"  {target}: {_quote(expr)}" for target, expr in derived.items()]
    if d.returns:
        parts = ", ".join(f"{k}: {_quote(v) if isinstance(v, str) else str(v).lower()}" for k, v in d.returns.items())
        lines.append(f"returns: {{{parts}}}         # lines of negative quantity seen: returns or cancellations")
    if d.date_formats:
        lines.append(f"date_formats: [{', '.join(map(_quote, d.date_formats))}]")
    if d.datetime_formats:
        lines.append(f"datetime_formats: [{', '.join(map(_quote, d.datetime_formats))}]")
    if d.notes:
        lines += ["# To check:", *(f"# - {n}" for n in d.notes)]
    return "\n".join(lines) + "\n"


def _derived(d: Draft) -> dict[str, str]:
    targets = {c.target for c in d.columns if c.target}
    out = {}
    if d.entity == "orders":
        if "amount" not in targets and {"quantity", "unit_price"} <= targets:
            out["amount"] = "quantity * unit_price"
        if d.statuses:
            # the words seen, then the other known words of their script: a later file's 作废 or 'refunded' is
            # mapped too, not quarantined as unknown (header_names.yml is the vocabulary)
            chinese = any(_is_cjk(w) for w in d.statuses)
            known = {
                w: s for s, ws in STATUS_WORDS.items() for w in ws if _is_cjk(w) == chinese and w not in d.statuses
            }
            mapped = {**{w: s for w, s in d.statuses.items() if s != "unknown"}, **known}
            cases = " ".join(f"when {_sql(w)} then {_sql(s)}" for w, s in mapped.items())
            out["status"] = f"case status_text {cases} else 'unknown' end" if cases else "'unknown'"
        elif "status" not in targets:
            out["status"] = "'completed'"  # no status column: every line a completed sale; check
    return out


def _is_cjk(word: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in word)


def _sql(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
