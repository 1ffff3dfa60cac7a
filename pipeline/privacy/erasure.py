"""Erase a person on request (PIPL art. 47, GDPR art. 17) from every layer of the working warehouse and the
files it wrote, and keep them out of later ingests.

1. Find the person: customer keys given, or the customers whose records hold the phone or e-mail given, and
   every raw record linked to those keys or holding those identifiers (identity.record_links).
2. Collect the identifiers of those records (phones, e-mails, member ids, WeChat ids, marketplace buyer ids,
   lead ids) and names. Values the identity step found shared by many people (identity.shared_identifiers,
   a shop's phone) are not the person's and are left alone.
3. Delete, in one transaction: the raw rows (staging views follow), every row keyed by the customer key in
   identity, intermediate, marts, history, clv and monitoring, the lineage rows of identity, the quarantined
   rows holding an identifier, the duplicate-row pointers to their rows; blank the identifiers in
   dq.validation_results samples. The customer key is retired, never reissued.
4. Scrub the text files under reports_dir (validation pages, reports) of the identifiers and names, and take the
   person's events out of the activation outbox files (docs/activation.md).
5. Add the identifiers' salted hashes to the suppression list, and record the erasure in privacy.erasure_audit
   and privacy.dir/erasure_log.jsonl: who, when, which keys, how many rows per table; no personal data.
The serving copy is republished by the caller (its older versions, which hold the person, are removed).
"""

from __future__ import annotations

import getpass
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipeline.activation.outbox import remove_from_outbox
from pipeline.contracts.model import SourceContract
from pipeline.contracts.schema import PERSONAL, SOURCE_SCOPED
from pipeline.identity.records import build_records
from pipeline.identity.work_db import WORK_DB, identity_workspace
from pipeline.privacy.suppression import KINDS, add_suppressions
from pipeline.quality.cleaning import clean_email, clean_phone
from pipeline.warehouse_schemas import erased_by_key
from pipeline.warehouse_tables import transaction

ERASED = "[erased]"
TEXT_SUFFIXES = {".html", ".md", ".json", ".txt", ".csv"}
AUDIT_DDL = """create table if not exists privacy.erasure_audit (
    erasure_id varchar not null,
    requested_at timestamptz not null,
    requested_by varchar not null,
    reason varchar,
    requested_with varchar not null,
    customer_keys varchar[] not null,
    records_found bigint not null,
    rows_removed json not null,
    files_scrubbed bigint not null,
    identifiers_suppressed bigint not null
)"""


class ErasureError(ValueError):
    pass


@dataclass
class ErasureRequest:
    customer_keys: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    requested_by: str = field(default_factory=getpass.getuser)
    reason: str | None = None

    def kinds(self) -> str:
        given = [("customer_key", self.customer_keys), ("phone", self.phones), ("email", self.emails)]
        return ",".join(k for k, values in given if values)


@dataclass
class ErasureReport:
    erasure_id: str
    customer_keys: list[str]
    records: int
    rows_removed: dict[str, int]
    files_scrubbed: list[Path]
    identifiers_suppressed: int


def normalise_phone(value: str) -> str:
    return pl.select(clean_phone(pl.lit(value))).item()


def normalise_email(value: str) -> str:
    return pl.select(clean_email(pl.lit(value))).item()


def erase(
    con: duckdb.DuckDBPyConnection,
    request: ErasureRequest,
    *,
    contracts: list[SourceContract],
    salt: str,
    privacy_dir: Path,
    reports_dir: Path,
    outbox_dir: Path | None = None,
) -> ErasureReport:
    phones = [normalise_phone(p) for p in request.phones]
    emails = [normalise_email(e) for e in request.emails]
    if not (request.customer_keys or phones or emails):
        raise ErasureError("name the person: a customer key, a phone or an e-mail")
    with identity_workspace(con):
        build_records(con, f"{WORK_DB}.erasure_records")
        con.execute(
            f"""create or replace temp table erasure_records_keyed as
            select r.*, l.customer_key, l.identifier_group from {WORK_DB}.erasure_records r
            left join identity.record_links l using (source_name, source_file, source_row_number)"""
        )
    keys = sorted(
        {
            k
            for (k,) in con.execute(
                """select distinct customer_key from erasure_records_keyed
                where customer_key is not null and (phone in (select unnest(?)) or email in (select unnest(?)))""",
                [phones, emails],
            ).fetchall()
        }
        | set(_known_keys(con, request.customer_keys))
    )
    con.execute(
        """create or replace temp table erasure_person as
        select * from erasure_records_keyed
        where customer_key in (select unnest(?)) or phone in (select unnest(?)) or email in (select unnest(?))""",
        [keys, phones, emails],
    )
    records = con.execute("select count(*) from erasure_person").fetchall()[0][0]
    if records == 0 and not keys:
        raise ErasureError("no customer or record in the warehouse matches the request")
    identifiers, names = _identifiers(con, phones, emails)
    erasure_id = str(uuid.uuid4())
    with transaction(con):
        removed, quarantined_values = _delete_rows(con, keys, identifiers, personal_columns(contracts), erasure_id)
    scrubbed = scrub_files(reports_dir, _scrub_values(identifiers, [*names, *quarantined_values]))
    if outbox_dir is not None:
        scrubbed += remove_from_outbox(outbox_dir, keys)
    suppressed = add_suppressions(privacy_dir, salt, identifiers, erasure_id)
    report = ErasureReport(erasure_id, keys, records, removed, scrubbed, suppressed)
    _audit(con, privacy_dir, request, report)
    return report


def personal_columns(contracts: list[SourceContract]) -> dict[str, list[str]]:
    """Per source, its own column names that hold personal data (quarantined records are kept as read)."""
    return {
        c.source: [col for col, target in c.columns.items() if isinstance(target, str) and target in PERSONAL]
        for c in contracts
    }


def _known_keys(con: duckdb.DuckDBPyConnection, keys: list[str]) -> list[str]:
    if not keys:
        return []
    known = con.execute(
        "select customer_key from identity.customer_keys where customer_key in (select unnest(?))", [keys]
    ).fetchall()
    missing = sorted(set(keys) - {k for (k,) in known})
    if missing:
        raise ErasureError(f"unknown customer key(s): {', '.join(missing)}")
    return keys


def _identifiers(
    con: duckdb.DuckDBPyConnection, phones: list[str], emails: list[str]
) -> tuple[list[tuple[str, str]], list[str]]:
    """(kind, value) of the person's records, without values shared by many people; and their names."""
    shared = set(con.execute("select id_type, id_value from identity.shared_identifiers").fetchall())
    found: set[tuple[str, str]] = {("phone", p) for p in phones if p} | {("email", e) for e in emails if e}
    for kind in KINDS:
        for (value,) in con.execute(f"select distinct {kind} from erasure_person where {kind} is not null").fetchall():
            found.add((kind, value))
    found = {(k, v) for k, v in found if (k, v) not in shared}
    names = [n for (n,) in con.execute("select distinct name from erasure_person where name is not null").fetchall()]
    return sorted(found), sorted(names)


def _tables(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...], column: str) -> list[str]:
    rows = con.execute(
        """select distinct t.schema_name || '.' || t.table_name from duckdb_tables() t
        join duckdb_columns() c using (database_name, schema_name, table_name)
        where t.database_name = current_database() and t.schema_name in (select unnest(?))
          and c.column_name = ? order by 1""",
        [list(schemas), column],
    ).fetchall()
    return [r[0] for r in rows]


def _delete_rows(
    con: duckdb.DuckDBPyConnection,
    keys: list[str],
    identifiers: list[tuple[str, str]],
    personal_columns: dict[str, list[str]],
    erasure_id: str,
) -> tuple[dict[str, int], list[str]]:
    """Rows removed per table, and contact values found only in the quarantined rows removed."""
    removed: dict[str, int] = {}

    def delete(table: str, where: str, params: list) -> None:
        n = con.execute(f"delete from {table} where {where}", params).fetchall()[0][0]
        if n:
            removed[table] = removed.get(table, 0) + n

    for (entity,) in con.execute("select distinct entity from erasure_person").fetchall():
        delete(
            f"raw.{entity}",
            "(_source, _source_file, _row_number) in "
            "(select (source_name, source_file, source_row_number) from erasure_person where entity = ?)",
            [entity],
        )
    # The matching profiles of the person's identifier groups hold their name and numbers (identity/matching.py).
    if "identity.profiles" in _tables(con, ("identity",), "group_id"):
        delete("identity.profiles", "group_id in (select identifier_group from erasure_person)", [])
    lineage = "(select (source_name, source_file, source_row_number) from erasure_person)"
    for table in _tables(con, erased_by_key(), "source_row_number"):
        delete(table, f"(source_name, source_file, source_row_number) in {lineage}", [])
    for table in _tables(con, erased_by_key(), "customer_key"):
        if table != "identity.customer_keys":
            delete(table, "customer_key in (select unnest(?))", [keys])
    either = "customer_key_l in (select unnest(?)) or customer_key_r in (select unnest(?))"
    delete("identity.match_edges", either, [keys, keys])
    con.execute(  # kept, so the number is never issued again
        "update identity.customer_keys set retired_run_id = ?, successor_key = null"
        " where customer_key in (select unnest(?))",
        [f"erased {erasure_id}", keys],
    )
    delete(
        "dq.duplicate_rows",
        "(source, duplicate_of_file, duplicate_of_row) in "
        "(select (source_name, source_file, source_row_number) from erasure_person)",
        [],
    )
    extra = _delete_quarantined(con, identifiers, personal_columns, removed)
    _scrub_dq_texts(con, _scrub_values(identifiers, extra))
    return removed, extra


# dq text columns that can hold a person's values: failed rules keep sample values (the e-mail that did not
# parse); file accounts carry none since their messages became value-free, but older ones may (a header).
_DQ_TEXTS = {"dq.validation_results": ("sample", "message"), "dq.reconciliation": ("message",)}


def _scrub_dq_texts(con: duckdb.DuckDBPyConnection, values: list[str]) -> None:
    """Blank the person's values wherever the dq tables keep text."""
    for table, columns in _DQ_TEXTS.items():
        where = " or ".join(f"{c} is not null" for c in columns)
        for rowid, *texts in con.execute(f"select rowid, {', '.join(columns)} from {table} where {where}").fetchall():
            new = [scrub_text(t, values) if t else t for t in texts]
            if new != texts:
                assignments = ", ".join(f"{c} = ?" for c in columns)
                con.execute(f"update {table} set {assignments} where rowid = ?", [*new, rowid])


def _delete_quarantined(
    con: duckdb.DuckDBPyConnection,
    identifiers: list[tuple[str, str]],
    personal_columns: dict[str, list[str]],
    removed: dict,
) -> list[str]:
    """Quarantined rows keep the record as read (JSON text, or the raw line of a malformed one): a row goes when
    one of its values is an identifier of the person, compared the way cleaning writes it (E.164, lower case)."""
    rows = con.sql("select rowid, source, record from dq.quarantine where record is not null").pl()
    if rows.is_empty():
        return []
    wanted = {v for _, v in identifiers} | {v.split(":", 1)[1] for k, v in identifiers if k in SOURCE_SCOPED}
    values = (
        rows.select("rowid", pl.col("record").map_elements(_record_values, return_dtype=pl.List(pl.String)))
        .explode("record")
        .drop_nulls("record")
        .with_columns(pl.col("record").str.strip_chars(" \"'"))
    )
    text = pl.col("record")
    hits = values.filter(text.is_in(wanted) | clean_phone(text).is_in(wanted) | clean_email(text).is_in(wanted))[
        "rowid"
    ].unique()
    if hits.len():
        con.execute("delete from dq.quarantine where rowid in (select unnest(?))", [hits.to_list()])
        removed["dq.quarantine"] = hits.len()
    # The personal values of those rows as read (the malformed e-mail that put the row in quarantine, the name)
    # are the person's too: they are blanked wherever a sample of them was kept.
    texts = []
    for source, record in rows.filter(pl.col("rowid").is_in(hits.implode())).select("source", "record").iter_rows():
        try:
            parsed = json.loads(record)
        except json.JSONDecodeError:
            continue
        if isinstance(parsed, dict):
            texts += [str(parsed[c]) for c in personal_columns.get(source, ()) if parsed.get(c) is not None]
    return sorted(set(texts))


def _record_values(record: str) -> list[str]:
    try:
        parsed = json.loads(record)
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        return [str(v) for v in parsed.values() if v is not None]
    return re.split(r"[,;\t|]", record)


def _scrub_values(identifiers: list[tuple[str, str]], texts: list[str]) -> list[str]:
    """The texts to blank in files and samples: each identifier as stored and as commonly written (a mobile
    without +86), and `texts` (names, contact values of quarantined rows). Identifiers shorter than 6
    characters (a lead number '17') would blank unrelated text and are left out; a value only counts as a
    whole token (see scrub_text)."""
    values = set()
    for kind, value in identifiers:
        value = value.split(":", 1)[1] if kind in SOURCE_SCOPED else value
        values.add(value)
        if kind == "phone" and value.startswith("+86"):
            values.add(value[3:])
    values = {v for v in values if len(v) >= 6} | {t for t in texts if len(t) >= 2}
    return sorted(values, key=lambda v: (-len(v), v))


def scrub_text(text: str, values: list[str]) -> str:
    """Replace each value where it stands as a whole token: not inside a longer run of letters or digits
    (13812345678 in 8613812345678999 stays; a Chinese name is a token of its own characters)."""
    for value in values:
        edge = r"[0-9A-Za-z]" if re.match(r"[0-9A-Za-z]", value[0]) else r"(?!)"
        tail = r"[0-9A-Za-z]" if re.match(r"[0-9A-Za-z]", value[-1]) else r"(?!)"
        text = re.sub(rf"(?<!{edge}){re.escape(value)}(?!{tail})", ERASED, text)
    return text


def scrub_files(folder: Path, values: list[str]) -> list[Path]:
    """Scrub every text file under `folder` (validation pages, reports); returns the files changed."""
    changed = []
    if not values or not folder.is_dir():
        return changed
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES):
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        new = scrub_text(text, values)
        if new != text:
            tmp = path.with_name(path.name + ".erasing")
            tmp.write_text(new, encoding="utf-8", errors="surrogateescape")
            tmp.replace(path)
            changed.append(path)
    return changed


def _audit(con: duckdb.DuckDBPyConnection, privacy_dir: Path, request: ErasureRequest, report: ErasureReport) -> None:
    entry = {
        "erasure_id": report.erasure_id,
        "requested_at": datetime.now(UTC).isoformat(),
        "requested_by": request.requested_by,
        "reason": request.reason,
        "requested_with": request.kinds(),
        "customer_keys": report.customer_keys,
        "records_found": report.records,
        "rows_removed": report.rows_removed,
        "files_scrubbed": len(report.files_scrubbed),
        "identifiers_suppressed": report.identifiers_suppressed,
    }
    privacy_dir.mkdir(parents=True, exist_ok=True)
    with open(privacy_dir / "erasure_log.jsonl", "a", encoding="utf-8") as log:
        log.write(json.dumps(entry, ensure_ascii=False) + "\n")
    con.execute("create schema if not exists privacy")
    con.execute(AUDIT_DDL)
    con.execute(
        "insert into privacy.erasure_audit values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [*(entry[k] if k != "rows_removed" else json.dumps(entry[k]) for k in entry)],
    )
