"""Erase a person on request (PIPL art. 47, GDPR art. 17) from every layer of the working warehouse and the
files it wrote, and keep them out of later ingests. This module finds the person and scrubs each store; the
order, the journal that lets an interrupted erasure finish and the run lock are in journal.py.

1. Find the person (`plan_erasure`, read only): customer keys given, or the customers whose records hold the
   phone or e-mail given, and every raw record linked to those keys or holding those identifiers
   (identity.record_links). Collect the identifiers of those records (phones, e-mails, member ids, WeChat ids,
   marketplace buyer ids, lead ids) and names. Values the identity step found shared by many people
   (identity.shared_identifiers, a shop's phone) are not the person's and are left alone. Quarantined rows are
   matched by those identifiers however they were written (notation.py), and their personal values join the
   values to scrub.
2. Delete, in one transaction (`delete_rows`): the raw rows (staging views follow), every row keyed by the customer
   key in identity, intermediate, marts, history, clv and monitoring, the lineage rows of identity, the quarantined
   rows holding an identifier, the duplicate-row pointers to their rows; replace the person's values in every
   text of every dq table. The customer key is retired, never reissued.
3. Scrub the files under reports_dir (validation pages, reports, the run's console log) of the identifiers and
   names, and take the person's events out of the activation outbox files at any depth (`scrub_files`).
"""

from __future__ import annotations

import getpass
import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipeline.activation.outbox import remove_from_outbox
from pipeline.contracts.model import SourceContract
from pipeline.contracts.schema import PERSONAL, SOURCE_SCOPED
from pipeline.identity.records import build_records
from pipeline.identity.work_db import WORK_DB, identity_workspace
from pipeline.privacy.notation import Needles
from pipeline.privacy.suppression import KINDS, erasures_listing, identifier_hash
from pipeline.quality.cleaning import clean_email, clean_phone
from pipeline.warehouse_schemas import erased_by_key
from pipeline.warehouse_tables import table_exists
from pipeline.whole_files import replacing

ERASED = "[erased]"
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
# An identifier shorter than this (a lead number '17') would blank unrelated text in files and samples: its rows
# are deleted like the rest, its text is left. Names and quarantined values count from 2 characters.
MIN_SCRUBBED_IDENTIFIER = 6


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
class ErasurePlan:
    """Who is erased and what to remove: everything the stores are scrubbed by, found before anything changes, so
    that an erasure interrupted after its database commit can finish from the plan alone (journal.py)."""

    erasure_id: str
    requested_at: str
    requested_by: str
    reason: str | None
    requested_with: str
    customer_keys: list[str]
    records: list[tuple[str, str, str, int]]  # (entity, source, file, row) of the raw rows
    identifier_groups: list[str]
    identifiers: list[tuple[str, str]]  # (kind, value as cleaning writes it)
    names: list[str]
    quarantined_values: list[str]  # personal values of the person's quarantined rows, as read
    already_erased_by: list[str]  # earlier erasures of these identifiers or keys

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ErasurePlan:
        data = json.loads(text)
        data["records"] = [tuple(r) for r in data["records"]]
        data["identifiers"] = [tuple(i) for i in data["identifiers"]]
        return cls(**data)

    def matching(self) -> Needles:
        """The person's identifiers: a quarantined row holding one, in any notation, is theirs."""
        return _needles(self.identifiers, [], min_length=1)

    def scrubbing(self) -> Needles:
        """What is replaced in texts: the identifiers, names and the values of their quarantined rows."""
        return _needles(self.identifiers, [*self.names, *self.quarantined_values], MIN_SCRUBBED_IDENTIFIER)


def _needles(identifiers: list[tuple[str, str]], texts: list[str], min_length: int) -> Needles:
    phones = [v for k, v in identifiers if k == "phone" and "*" not in v]
    emails = [v for k, v in identifiers if k == "email"]
    tokens = [v.split(":", 1)[1] if k in SOURCE_SCOPED else v for k, v in identifiers if k != "email" and k != "phone"]
    tokens += [v for k, v in identifiers if k == "phone" and "*" in v]
    tokens = [t for t in tokens if len(t) >= min_length] + [t for t in texts if len(t) >= 2]
    return Needles.of(phones, emails, tokens)


@dataclass
class ErasureReport:
    erasure_id: str
    customer_keys: list[str]
    records: int
    rows_removed: dict[str, int]
    files_scrubbed: list[Path]
    identifiers_suppressed: int
    already_erased_by: list[str] = field(default_factory=list)
    republished: str | None = None  # what publishing the serving copy again did


def normalise_phone(value: str, country: str = "CN") -> str:
    return pl.select(clean_phone(pl.lit(value), country)).item()


def normalise_email(value: str) -> str:
    return pl.select(clean_email(pl.lit(value))).item()


def plan_erasure(
    con: duckdb.DuckDBPyConnection,
    request: ErasureRequest,
    *,
    salt: str,
    privacy_dir: Path,
    contracts: list[SourceContract],
    country: str = "CN",
) -> ErasurePlan:
    """Find the person, reading only. ErasureError when the request names nobody the warehouse holds or an
    earlier erasure removed."""
    phones = [normalise_phone(p, country) for p in request.phones]
    emails = [normalise_email(e) for e in request.emails]
    if not (request.customer_keys or phones or emails):
        raise ErasureError("name the person: a customer key, a phone or an e-mail")
    linked = table_exists(con, "identity", "record_links")
    with identity_workspace(con):
        build_records(con, f"{WORK_DB}.erasure_records")
        links = (
            "identity.record_links"
            if linked
            else "(select null::varchar as customer_key, null::varchar as identifier_group,"
            " null::varchar as source_name, null::varchar as source_file, null::bigint as source_row_number)"
        )
        con.execute(
            f"""create or replace temp table erasure_records_keyed as
            select r.*, l.customer_key, l.identifier_group from {WORK_DB}.erasure_records r
            left join {links} l using (source_name, source_file, source_row_number)"""
        )
    erased_keys = _erased_keys(con, request.customer_keys)
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
    records = con.execute(
        "select entity, source_name, source_file, source_row_number from erasure_person order by all"
    ).fetchall()
    groups = [
        g
        for (g,) in con.execute(
            "select distinct identifier_group from erasure_person where identifier_group is not null order by 1"
        ).fetchall()
    ]
    identifiers, names = _identifiers(con, phones, emails)
    earlier = _suppressed_by(privacy_dir, salt, identifiers)
    earlier += [e for k, e in erased_keys.items() if k in keys]
    plan = ErasurePlan(
        erasure_id=str(uuid.uuid4()),
        requested_at=datetime.now(UTC).isoformat(),
        requested_by=request.requested_by,
        reason=request.reason,
        requested_with=request.kinds(),
        customer_keys=keys,
        records=records,
        identifier_groups=groups,
        identifiers=identifiers,
        names=names,
        quarantined_values=[],
        already_erased_by=sorted(set(earlier)),
    )
    quarantined = _quarantined_rows(con, plan.matching())
    live_keys = [k for k in keys if k not in erased_keys]
    if not (records or live_keys or quarantined or earlier):
        raise ErasureError("no customer or record in the warehouse matches the request")
    plan.quarantined_values = _quarantined_values(quarantined, personal_columns(contracts))
    return plan


def personal_columns(contracts: list[SourceContract]) -> dict[str, list[str]]:
    """Per source, its own column names that hold personal data (quarantined records are kept as read)."""
    return {
        c.source: [col for col, target in c.columns.items() if isinstance(target, str) and target in PERSONAL]
        for c in contracts
    }


def _erased_keys(con: duckdb.DuckDBPyConnection, keys: list[str]) -> dict[str, str]:
    """Of `keys`, those an earlier erasure retired, with its erasure id."""
    if not keys or not table_exists(con, "identity", "customer_keys"):
        return {}
    rows = con.execute(
        """select customer_key, retired_run_id from identity.customer_keys
        where customer_key in (select unnest(?)) and retired_run_id like 'erased %'""",
        [keys],
    ).fetchall()
    return {k: run.removeprefix("erased ") for k, run in rows}


def _known_keys(con: duckdb.DuckDBPyConnection, keys: list[str]) -> list[str]:
    if not keys:
        return []
    known = (
        con.execute(
            "select customer_key from identity.customer_keys where customer_key in (select unnest(?))", [keys]
        ).fetchall()
        if table_exists(con, "identity", "customer_keys")
        else []
    )
    missing = sorted(set(keys) - {k for (k,) in known})
    if missing:
        raise ErasureError(f"unknown customer key(s): {', '.join(missing)}")
    return keys


def _suppressed_by(privacy_dir: Path, salt: str, identifiers: list[tuple[str, str]]) -> list[str]:
    """The erasures whose suppression entries name one of `identifiers`."""
    listing = erasures_listing(privacy_dir)
    return sorted({listing[h] for k, v in identifiers if (h := identifier_hash(salt, k, v)) in listing})


def _identifiers(
    con: duckdb.DuckDBPyConnection, phones: list[str], emails: list[str]
) -> tuple[list[tuple[str, str]], list[str]]:
    """(kind, value) of the person's records, without values shared by many people; and their names."""
    shared = (
        set(con.execute("select id_type, id_value from identity.shared_identifiers").fetchall())
        if table_exists(con, "identity", "shared_identifiers")
        else set()
    )
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


def _candidates(con: duckdb.DuckDBPyConnection, table: str, columns: list[str], needles: Needles) -> list[tuple]:
    """(rowid, *columns) of the rows of `table` one of whose `columns` may hold a needle: a superset, found in SQL
    (text without NULs, lower case, contains a value; or its digits contain a phone's), for notation.py to judge."""
    if not needles:
        return []
    tests = []
    for c in columns:
        text = f"""lower(replace("{c}"::varchar, chr(0), ''))"""
        tests.append(f"exists (select 1 from unnest($markers) m(v) where contains({text}, v))")
        if needles.phone_digits:
            digits = f"""regexp_replace("{c}"::varchar, '[^0-9]', '', 'g')"""
            tests.append(f"exists (select 1 from unnest($digits) d(v) where contains({digits}, v))")
    return con.execute(
        f"""select rowid, {", ".join(f'"{c}"::varchar' for c in columns)} from {table} where {" or ".join(tests)}""",
        {
            "markers": [m.lower() for m in needles.markers()] or [chr(0)],
            **({"digits": sorted(needles.phone_digits)} if needles.phone_digits else {}),
        },
    ).fetchall()


def _quarantined_rows(con: duckdb.DuckDBPyConnection, needles: Needles) -> list[tuple[int, str, str | None]]:
    """(rowid, source, record) of the quarantined rows whose record as read, or reason, holds an identifier of the
    person in any notation: a JSON record, a malformed line, the lines of a file that could not be decoded."""
    if not table_exists(con, "dq", "quarantine"):
        return []
    hits = []
    for rowid, record, reason in _candidates(con, "dq.quarantine", ["record", "reason"], needles):
        if any(t and needles.found_in(t) for t in (record, reason)):
            hits.append(rowid)
    if not hits:
        return []
    return con.execute(
        "select rowid, source, record from dq.quarantine where rowid in (select unnest(?))", [hits]
    ).fetchall()


def _quarantined_values(quarantined: list[tuple], personal_columns: dict[str, list[str]]) -> list[str]:
    """The personal values of the person's quarantined rows as read (the malformed e-mail that put the row in
    quarantine, the name): the person's too, blanked wherever a sample of them was kept."""
    texts = []
    for _, source, record in quarantined:
        try:
            parsed = json.loads(record or "")
        except json.JSONDecodeError:
            continue
        if isinstance(parsed, dict):
            texts += [str(parsed[c]) for c in personal_columns.get(source, ()) if parsed.get(c) is not None]
    return sorted(set(texts))


def delete_rows(con: duckdb.DuckDBPyConnection, plan: ErasurePlan) -> dict[str, int]:
    """Delete the plan's rows and scrub the dq texts (in the caller's transaction); rows removed per table. Run
    again after a commit it finds nothing left to remove."""
    removed: dict[str, int] = {}

    def delete(table: str, where: str, params: list) -> None:
        n = con.execute(f"delete from {table} where {where}", params).fetchall()[0][0]
        if n:
            removed[table] = removed.get(table, 0) + n

    con.execute(
        "create or replace temp table erasure_rows (entity varchar, source_name varchar, source_file varchar,"
        " source_row_number bigint)"
    )
    if plan.records:
        con.executemany("insert into erasure_rows values (?, ?, ?, ?)", plan.records)
    lineage = "(select (source_name, source_file, source_row_number) from erasure_rows)"
    for (entity,) in con.execute("select distinct entity from erasure_rows order by 1").fetchall():
        if table_exists(con, "raw", entity):
            delete(
                f"raw.{entity}",
                "(_source, _source_file, _row_number) in "
                "(select (source_name, source_file, source_row_number) from erasure_rows where entity = ?)",
                [entity],
            )
    # The matching profiles of the person's identifier groups hold their name and numbers (identity/matching.py).
    if "identity.profiles" in _tables(con, ("identity",), "group_id"):
        delete("identity.profiles", "group_id in (select unnest(?))", [plan.identifier_groups])
    for table in _tables(con, erased_by_key(), "source_row_number"):
        delete(table, f"(source_name, source_file, source_row_number) in {lineage}", [])
    keys = plan.customer_keys
    for table in _tables(con, erased_by_key(), "customer_key"):
        if table != "identity.customer_keys":
            delete(table, "customer_key in (select unnest(?))", [keys])
    if table_exists(con, "identity", "match_edges"):
        either = "customer_key_l in (select unnest(?)) or customer_key_r in (select unnest(?))"
        delete("identity.match_edges", either, [keys, keys])
    if table_exists(con, "identity", "customer_keys"):
        con.execute(  # kept, so the number is never issued again
            "update identity.customer_keys set retired_run_id = ?, successor_key = null"
            " where customer_key in (select unnest(?))",
            [f"erased {plan.erasure_id}", keys],
        )
    if table_exists(con, "dq", "duplicate_rows"):
        delete("dq.duplicate_rows", f"(source, duplicate_of_file, duplicate_of_row) in {lineage}", [])
    quarantined = [rowid for rowid, _, _ in _quarantined_rows(con, plan.matching())]
    if quarantined:
        delete("dq.quarantine", "rowid in (select unnest(?))", [quarantined])
    scrub_schema_texts(con, "dq", plan.scrubbing())
    return removed


def scrub_schema_texts(con: duckdb.DuckDBPyConnection, schema: str, needles: Needles) -> int:
    """Replace the needles in every text column of every table of `schema` (rule samples and messages, file
    accounts, quarantine reasons); returns the cells changed."""
    columns = con.execute(
        """select table_name, list(column_name order by column_index) from duckdb_columns()
        where database_name = current_database() and schema_name = ? and data_type in ('VARCHAR', 'JSON')
          and table_name in (select table_name from duckdb_tables() where database_name = current_database()
                             and schema_name = ?)
        group by 1 order by 1""",
        [schema, schema],
    ).fetchall()
    changed = 0
    for table, names in columns:
        for rowid, *texts in _candidates(con, f'{schema}."{table}"', names, needles):
            new = [needles.replace(t, ERASED) if t else t for t in texts]
            updates = [(c, n) for c, t, n in zip(names, texts, new, strict=True) if n != t]
            if updates:
                assignments = ", ".join(f'"{c}" = ?' for c, _ in updates)
                con.execute(
                    f'update {schema}."{table}" set {assignments} where rowid = ?', [*(n for _, n in updates), rowid]
                )
                changed += len(updates)
    return changed


def scrub_files(plan: ErasurePlan, reports_dir: Path, outbox_dir: Path | None) -> list[Path]:
    """The person out of every file the job wrote for people to read: each text file under reports_dir (validation
    pages, reports, the run's console log) scrubbed; their events out of the outbox files at any depth, and any
    other mention of them scrubbed there. Returns the files changed."""
    needles = plan.scrubbing()
    changed = []
    if outbox_dir is not None:
        changed += remove_from_outbox(outbox_dir, plan.customer_keys)
    for folder in (reports_dir, outbox_dir):
        if folder is not None and folder.is_dir():
            changed += [p for p in sorted(folder.rglob("*")) if p.is_file() and _scrub_file(p, needles)]
    return sorted(set(changed))


def _scrub_file(path: Path, needles: Needles) -> bool:
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        return False  # not text this job writes (a Parquet outbox file is rewritten by remove_from_outbox)
    text = data.decode("utf-8", errors="surrogateescape")
    new = needles.replace(text, ERASED)
    if new == text:
        return False
    with replacing(path) as partial:
        partial.write_bytes(new.encode("utf-8", errors="surrogateescape"))
    return True


def audit_row(con: duckdb.DuckDBPyConnection, plan: ErasurePlan, report: ErasureReport) -> None:
    """privacy.erasure_audit: who, when, why, which keys, what was removed; no personal data. Kept once per
    erasure: an erasure finished after a crash keeps the first attempt's counts."""
    con.execute("create schema if not exists privacy")
    con.execute(AUDIT_DDL)
    if con.execute("select 1 from privacy.erasure_audit where erasure_id = ?", [plan.erasure_id]).fetchall():
        return
    con.execute(
        "insert into privacy.erasure_audit values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            plan.erasure_id,
            plan.requested_at,
            plan.requested_by,
            plan.reason,
            plan.requested_with,
            plan.customer_keys,
            len(plan.records),
            json.dumps(report.rows_removed),
            len(report.files_scrubbed),
            report.identifiers_suppressed,
        ],
    )
