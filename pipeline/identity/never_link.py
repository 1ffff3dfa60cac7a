"""Reversible identity: the merge ledger, unmerges and the never-link list (how a pair is kept apart within a
run: cannot_link.py).

- identity.merges (append-only): every merge of earlier customers a run made (event `merge`: the retired key and
  the key it merged into) and every unmerge it carried out (event `unmerge`: the key given back and the key it was
  split from), numbered by the run's `run_seq` (the one of identity.customer_changes), so the grade migrations of
  a later day can tell which customers identity changed (models/monitoring/grade_migrations.sql).
- identity.merge_records (append-only): for every merge, the records each of its keys held just before it: what an
  unmerge gives back, whatever happened to the customer since.
- identity.never_link_pairs / identity.never_link_records: two sets of records no customer may hold together. A pair
  comes from `crmgrade identity unmerge KEY` (origin `unmerge`: the key's records before its merge against its
  successor's) or from crmgrade.yml `identity.never_link` (origin `config`, taken when the entry is first seen: a
  live key stands for the records it holds then, a retired key for those it held before its merge). The records are
  taken once, so a record arriving later is free to join either side. A config pair applies while its entry is in
  the config; an unmerge applies for good.

A key retired by the merge a pair undoes is given back when the pair is first applied: its former records vote for
it (restored_previous_keys, keys.py), and identity.customer_keys has it live again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from pipeline.identity.changes import table_columns
from pipeline.identity.config import NeverLink
from pipeline.identity.key_format import is_customer_key
from pipeline.identity.work_db import WORK_DB
from pipeline.warehouse_tables import transaction

LINEAGE = ("source_name", "source_file", "source_row_number")
_LINEAGE_COLUMNS = "source_name varchar not null, source_file varchar not null, source_row_number bigint not null"

DDL = [
    """create table if not exists identity.merges (
        run_seq bigint not null, run_id varchar not null, recorded_at timestamp not null, event varchar not null,
        customer_key varchar not null, other_key varchar not null, records bigint not null, reason varchar)""",
    f"""create table if not exists identity.merge_records (
        run_id varchar not null, merged_into varchar not null, customer_key varchar not null, {_LINEAGE_COLUMNS})""",
    """create table if not exists identity.never_link_pairs (
        pair_id varchar primary key, origin varchar not null, key_a varchar not null, key_b varchar not null,
        reason varchar not null, requested_at timestamp not null, applied_run_id varchar)""",
    f"""create table if not exists identity.never_link_records (
        pair_id varchar not null, side varchar not null, restore_key varchar, {_LINEAGE_COLUMNS})""",
]


class NeverLinkError(ValueError):
    """An unmerge or never-link entry that cannot be carried out; the message says which key and why."""


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists identity")
    for statement in DDL:
        con.execute(statement)


def config_pair_id(entry: NeverLink) -> str:
    return "config:" + ":".join(sorted(entry.customers))


# ---- making pairs -----------------------------------------------------------------------------------------------


@dataclass
class Side:
    key: str
    restore: bool  # a retired key, given back when the pair is first applied
    records: str  # a query of the side's record lineage


def _key_state(con: duckdb.DuckDBPyConnection, key: str, what: str) -> tuple[str | None, str | None]:
    """(retired_run_id, successor_key) of an issued key (both empty for a live one); an error naming it otherwise."""
    rows = con.execute(
        "select retired_run_id, successor_key from identity.customer_keys where customer_key = ?", [key]
    ).fetchall()
    if not rows:
        raise NeverLinkError(f"{what}: {key} was never issued in this warehouse (identity.customer_keys)")
    return rows[0]


def _recorded(con: duckdb.DuckDBPyConnection, pair_id: str) -> bool:
    return bool(
        con.execute("select count(*) from identity.never_link_pairs where pair_id = ?", [pair_id]).fetchall()[0][0]
    )


def _side(con: duckdb.DuckDBPyConnection, key: str, retired_run: str | None, what: str) -> Side:
    """The records `key` stands for: a live key's today, a retired key's before the merge that retired it."""
    if retired_run is None:
        return Side(key, False, f"select {', '.join(LINEAGE)} from identity.record_links where customer_key = '{key}'")
    recorded = con.execute(
        "select count(*) from identity.merge_records where run_id = ? and customer_key = ?", [retired_run, key]
    ).fetchall()[0][0]
    if not recorded:
        raise NeverLinkError(
            f"{what}: {key} was retired by run {retired_run}, before merges were recorded (identity.merges): "
            "the records it held are not known"
        )
    return Side(
        key,
        True,
        f"""select {", ".join(LINEAGE)} from identity.merge_records
        where run_id = '{retired_run}' and customer_key = '{key}'""",
    )


def _insert_pair(con, pair_id: str, origin: str, a: Side, b: Side, reason: str, now: datetime) -> tuple[int, int]:
    """Record a pair; a record on both sides stays on the side of a retired key (its records are the exact ones)."""
    con.execute(
        "insert into identity.never_link_pairs values (?, ?, ?, ?, ?, ?, null)",
        [pair_id, origin, a.key, b.key, reason, now],
    )
    first, second = (b, a) if b.restore and not a.restore else (a, b)
    lineage = ", ".join(LINEAGE)
    con.execute(
        f"""insert into identity.never_link_records by name
        select ? as pair_id, ? as side, ? as restore_key, {lineage} from ({first.records})""",
        [pair_id, "a" if first is a else "b", first.key if first.restore else None],
    )
    con.execute(
        f"""insert into identity.never_link_records by name
        select ? as pair_id, ? as side, ? as restore_key, {lineage}
        from ({second.records}) anti join (select {lineage} from identity.never_link_records where pair_id = ?)
            using ({lineage})""",
        [pair_id, "a" if second is a else "b", second.key if second.restore else None, pair_id],
    )
    return tuple(
        con.execute(
            "select count(*) from identity.never_link_records where pair_id = ? and side = ?", [pair_id, side]
        ).fetchall()[0][0]
        for side in ("a", "b")
    )


@dataclass
class Unmerge:
    key: str  # the key given back
    successor: str  # the key it merged into
    merged_by_run: str
    records: int  # the records it takes back (those it held before the merge)
    successor_records: int


def request_unmerge(con: duckdb.DuckDBPyConnection, key: str, reason: str, now: datetime) -> Unmerge:
    """Undo the merge that retired `key`: its records before the merge never again join those of the customers it
    merged with then; the next identity run (a full resolution) splits them and gives `key` back."""
    ensure_tables(con)
    what = f"unmerge {key}"
    if not is_customer_key(key):
        raise NeverLinkError(f"{what}: not a customer key (C followed by 10 digits)")
    run, successor = _key_state(con, key, what)
    if run is None:
        raise NeverLinkError(
            f"{what}: {key} is a live customer, not one a merge retired; to keep two live customers apart, list them "
            "under identity.never_link in crmgrade.yml"
        )
    pair_id = f"unmerge:{key}:{run}"
    if _recorded(con, pair_id):
        raise NeverLinkError(f"{what}: already requested (identity.never_link_pairs {pair_id})")
    side = _side(con, key, run, what)
    # the other side: every record of the customer it merged into, as that run found them, but its own
    others = Side(
        successor,
        False,
        f"""select {", ".join(LINEAGE)} from identity.merge_records
        where run_id = '{run}' and merged_into = '{successor}' and customer_key != '{key}'""",
    )
    with transaction(con):
        records, successor_records = _insert_pair(con, pair_id, "unmerge", side, others, reason, now)
    return Unmerge(key, successor, run, records, successor_records)


def take_config_pairs(con: duckdb.DuckDBPyConnection, entries: list[NeverLink], now: datetime) -> None:
    """Record the config's never-link entries not recorded yet (their records as of now); the tables exist
    (ensure_tables)."""
    for entry in entries:
        pair_id = config_pair_id(entry)
        if _recorded(con, pair_id):
            continue
        what = f"identity.never_link {list(entry.customers)}"
        a, b = (_side(con, key, _key_state(con, key, what)[0], what) for key in entry.customers)
        _insert_pair(con, pair_id, "config", a, b, entry.reason, now)


def pending_pairs(con: duckdb.DuckDBPyConnection) -> int:
    """Pairs not applied by any run yet (an identity run applies them in a full resolution)."""
    if not table_columns(con, "identity", "never_link_pairs"):
        return 0
    return con.execute("select count(*) from identity.never_link_pairs where applied_run_id is null").fetchall()[0][0]


def active_pairs(entries: list[NeverLink]) -> str:
    """A query of the pair_id of every pair in force: every unmerge, and the config pairs still configured."""
    configured = ", ".join(f"'{config_pair_id(e)}'" for e in entries) or "null"
    return f"""select pair_id from identity.never_link_pairs
        where origin = 'unmerge' or pair_id in ({configured})"""


# ---- keeping pairs apart ----------------------------------------------------------------------------------------


def restored_previous_keys(previous: str, entries: list[NeverLink]) -> str:
    """A query of (record_id, customer_key) like `previous` (this run's records and last run's keys), where the
    records of a pair's side whose key a merge retired vote for that key again, the first time the pair applies."""
    lineage = ", ".join(LINEAGE)
    return f"""with restore as (
            select r.record_id, any_value(n.restore_key) as restore_key
            from identity.never_link_records n
            join identity.never_link_pairs p using (pair_id)
            join identity_records r using ({lineage})
            where p.applied_run_id is null and n.restore_key is not null and p.pair_id in ({active_pairs(entries)})
            group by r.record_id
        )
        select p.record_id, coalesce(restore.restore_key, p.customer_key) as customer_key
        from {previous} p left join restore using (record_id)"""


# ---- the ledger -------------------------------------------------------------------------------------------------


def record_merges(
    con: duckdb.DuckDBPyConnection, entries: list[NeverLink], run_id: str, run_seq: int, now: datetime
) -> tuple[int, int]:
    """Append this run's merges and unmerges to the ledger, give the keys an unmerge restored their life back and
    mark the active pairs applied. Called once identity.record_links holds this run's links. Reads the workspace
    tables of keys.py (`identity_key_map`, `identity_retired`) and resolve.py (`identity_previous_keys`,
    `identity_records`). Returns (merges, unmerges)."""
    lineage = ", ".join(f"r.{c}" for c in LINEAGE)
    con.execute(
        f"""insert into identity.merge_records
        with keys as (
            select customer_key, successor_key as merged_into from identity_retired
            union
            select successor_key, successor_key from identity_retired
        )
        select ?, k.merged_into, p.customer_key, {lineage}
        from identity_previous_keys p
        join keys k using (customer_key)
        join identity_records r using (record_id)""",
        [run_id],
    )
    [(merges,)] = con.execute(
        """insert into identity.merges
        select ?, ?, ?, 'merge', t.customer_key, t.successor_key, count(p.record_id), null
        from identity_retired t left join identity_previous_keys p using (customer_key)
        group by t.customer_key, t.successor_key""",
        [run_seq, run_id, now],
    ).fetchall()
    # a pair applied for the first time that gave a retired key back
    restored = f"""select distinct n.restore_key as customer_key, p.key_a, p.key_b, p.reason, p.pair_id
        from identity.never_link_records n join identity.never_link_pairs p using (pair_id)
        where p.applied_run_id is null and p.pair_id in ({active_pairs(entries)})
          and n.restore_key in (select customer_key from {WORK_DB}.identity_key_map)"""
    [(unmerges,)] = con.execute(
        f"""insert into identity.merges
        select ?, ?, ?, 'unmerge', r.customer_key,
               case when r.customer_key = r.key_a then r.key_b else r.key_a end,
               (select count(*) from identity.record_links l where l.customer_key = r.customer_key),
               r.reason
        from ({restored}) r""",
        [run_seq, run_id, now],
    ).fetchall()
    con.execute(
        f"""update identity.customer_keys set retired_run_id = null, successor_key = null
        where retired_run_id is not null and customer_key in (select customer_key from {WORK_DB}.identity_key_map)"""
    )
    con.execute(
        f"""update identity.never_link_pairs set applied_run_id = ?
        where applied_run_id is null and pair_id in ({active_pairs(entries)})""",
        [run_id],
    )
    return merges, unmerges


def list_merges(con: duckdb.DuckDBPyConnection, customer: str | None, limit: int) -> list[tuple]:
    """The ledger, newest first: (recorded_at, run_id, event, customer_key, other_key, records, reason), only the
    rows naming `customer` when it is given."""
    ensure_tables(con)
    where = "where ? in (customer_key, other_key)" if customer else ""
    return con.execute(
        f"""select recorded_at, run_id, event, customer_key, other_key, records, coalesce(reason, '')
        from identity.merges {where} order by run_seq desc, event, customer_key limit ?""",
        [*([customer] if customer else []), limit],
    ).fetchall()
