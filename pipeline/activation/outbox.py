"""Enter and exit events since the last delivery, kept in the warehouse and written to files per destination.

The schema `activation` holds the memberships as last delivered (`memberships`, with the date each customer
entered), every event (`events`) and every file (`batches`). A run compares today's memberships with the
delivered ones: a customer in today and not before enters, one delivered and not in today exits. Events, the new
state and the batches are written in one transaction, so a run again on the same inputs finds nothing changed and
writes nothing (idempotent), and a crash leaves either all of it or none. Files are written after the commit,
each atomically, from the events table: a file a crash did not write is written by the next run.

An as-of date before the delivered state's (a backfill of past days) changes nothing: the outbox acts on the
latest graded day only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import get_args

import duckdb
import polars as pl

from pipeline.activation.memberships import PlannedAction, current_memberships
from pipeline.grading.rules import Destination
from pipeline.warehouse_tables import transaction
from pipeline.whole_files import replacing

DDL = [
    "create schema if not exists activation",
    """create table if not exists activation.memberships (
        membership varchar not null,
        customer_key varchar not null,
        since_date date not null
    )""",
    """create table if not exists activation.state (
        as_of_date date not null,
        run_id varchar not null,
        updated_at timestamp not null
    )""",
    """create table if not exists activation.events (
        event_id varchar not null,
        batch_id varchar not null,
        run_id varchar not null,
        as_of_date date not null,
        destination varchar not null,
        event varchar not null,
        membership_kind varchar not null,
        membership_value varchar not null,
        action varchar not null,
        customer_key varchar not null,
        member_id varchar,
        grade varchar,
        segment_cn varchar,
        segment_en varchar,
        created_at timestamp not null
    )""",
    """create table if not exists activation.batches (
        batch_id varchar not null,
        destination varchar not null,
        run_id varchar not null,
        as_of_date date not null,
        events bigint not null,
        file varchar,
        written_at timestamp
    )""",
]
EVENT_COLUMNS = [
    "event_id",
    "as_of_date",
    "event",
    "membership_kind",
    "membership_value",
    "action",
    "customer_key",
    "member_id",
    "grade",
    "segment_cn",
    "segment_en",
]
# a destination's format (rules.yml) is its files' suffix
FORMATS = get_args(Destination.model_fields["format"].annotation)


@dataclass
class Delivery:
    batch_id: str
    as_of_date: date
    skipped: str | None = None  # why nothing was compared (an earlier as-of date than the delivered state)
    events: dict[tuple[str, str], int] = field(default_factory=dict)  # (destination, event) -> count

    @property
    def total(self) -> int:
        return sum(self.events.values())


def ensure_activation_tables(con: duckdb.DuckDBPyConnection) -> None:
    for statement in DDL:
        con.execute(statement)


def batch_id_of(as_of_date: date, run_id: str) -> str:
    return f"{as_of_date.isoformat()}_{run_id[:8]}"


def record_changes(
    con: duckdb.DuckDBPyConnection, actions: list[PlannedAction], as_of_date: date, run_id: str
) -> Delivery:
    """Compare today's memberships with the delivered ones; record the events of every action, the new state and
    the batches, in one transaction."""
    ensure_activation_tables(con)
    delivery = Delivery(batch_id_of(as_of_date, run_id), as_of_date)
    [(last,)] = con.execute("select max(as_of_date) from activation.state").fetchall()
    if last is not None and as_of_date < last:
        delivery.skipped = f"the outbox was last delivered for {last}; {as_of_date} is earlier and changes nothing"
        return delivery
    current = current_memberships(con, actions)
    plan = pl.DataFrame(
        [(a.membership, a.kind, a.value, a.destination, a.do, list(a.events)) for a in actions],
        schema={
            "membership": pl.String,
            "kind": pl.String,
            "value": pl.String,
            "destination": pl.String,
            "action": pl.String,
            "events": pl.List(pl.String),
        },
        orient="row",
    )
    con.register("current_members", current.to_arrow())
    con.register("planned_actions", plan.to_arrow())
    try:
        with transaction(con):
            con.execute(
                """create or replace temp table membership_changes as
                select coalesce(c.membership, s.membership) as membership,
                    coalesce(c.customer_key, s.customer_key) as customer_key,
                    case when s.customer_key is null then 'enter' else 'exit' end as event
                from current_members as c
                full join activation.memberships as s
                    on c.membership = s.membership and c.customer_key = s.customer_key
                where (c.customer_key is null or s.customer_key is null)
                    -- a membership no action watches any more leaves the state without events
                    and coalesce(c.membership, s.membership) in (select membership from planned_actions)"""
            )
            con.execute(
                """insert into activation.events
                select
                    sha256(concat_ws('|', ?, p.destination, p.action, ch.membership, ch.customer_key, ch.event))[:24],
                    ?, ?, ?, p.destination, ch.event, p.kind, p.value, p.action, ch.customer_key,
                    d.member_id, g.grade, g.segment_cn, g.segment_en, current_timestamp::timestamp
                from membership_changes as ch
                inner join planned_actions as p
                    on ch.membership = p.membership and list_contains(p.events, ch.event)
                left join marts.dim_customer as d on ch.customer_key = d.customer_key
                left join marts.customer_grades as g on ch.customer_key = g.customer_key
                order by p.destination, ch.membership, ch.event, ch.customer_key""",
                [delivery.batch_id, delivery.batch_id, run_id, as_of_date],
            )
            con.execute(
                """create or replace temp table next_memberships as
                select c.membership, c.customer_key, coalesce(s.since_date, ?) as since_date
                from current_members as c
                left join activation.memberships as s
                    on c.membership = s.membership and c.customer_key = s.customer_key""",
                [as_of_date],
            )
            con.execute("delete from activation.memberships")
            con.execute("insert into activation.memberships select * from next_memberships")
            con.execute("delete from activation.state")
            con.execute(
                "insert into activation.state values (?, ?, current_timestamp::timestamp)", [as_of_date, run_id]
            )
            con.execute(
                """insert into activation.batches
                select ?, destination, ?, ?, count(*), null, null from activation.events
                where batch_id = ? group by destination""",
                [delivery.batch_id, run_id, as_of_date, delivery.batch_id],
            )
    finally:
        con.unregister("current_members")
        con.unregister("planned_actions")
    counts = con.execute(
        "select destination, event, count(*) from activation.events where batch_id = ? group by all order by all",
        [delivery.batch_id],
    ).fetchall()
    delivery.events = {(d, e): n for d, e, n in counts}
    return delivery


def write_outbox(con: duckdb.DuckDBPyConnection, outbox_dir: Path, destinations: dict[str, Destination]) -> list[Path]:
    """Write every batch whose file is not written yet (this run's, and any a crash left), one file each."""
    ensure_activation_tables(con)
    pending = con.execute(
        "select batch_id, destination from activation.batches where written_at is null order by batch_id, destination"
    ).fetchall()
    written = []
    for batch_id, destination in pending:
        spec = destinations.get(destination)
        if spec is None:
            continue  # a destination removed from rules.yml: its last batch stays in activation.events
        events = con.sql(
            f"select {', '.join(EVENT_COLUMNS)} from activation.events"
            " where batch_id = ? and destination = ? order by membership_kind, membership_value, event, customer_key",
            params=[batch_id, destination],
        ).pl()
        path = outbox_dir / destination / f"{batch_id}.{spec.format}"
        _write(events, path, spec.format, destination)
        con.execute(
            "update activation.batches set file = ?, written_at = current_timestamp::timestamp"
            " where batch_id = ? and destination = ?",
            [str(path), batch_id, destination],
        )
        written.append(path)
    return written


def webhook_payload(row: dict, destination: str) -> dict:
    """One event as the JSON body a webhook receives (docs/activation.md)."""
    return {
        "event_id": row["event_id"],
        "event": row["event"],
        "as_of_date": row["as_of_date"].isoformat(),
        "destination": destination,
        "action": row["action"],
        "membership": {"kind": row["membership_kind"], "value": row["membership_value"]},
        "customer": {"customer_key": row["customer_key"], "member_id": row["member_id"]},
        "grade": row["grade"],
        "segment_cn": row["segment_cn"],
        "segment_en": row["segment_en"],
    }


def remove_from_outbox(outbox_dir: Path, customer_keys: list[str]) -> list[Path]:
    """Take the events of erased customers out of every outbox file still on this disk, at any depth (a
    destination's archive/ of files receivers took included; crmgrade erase); returns the files changed. A copy a
    receiver already took is outside the warehouse: the erasure log names the keys."""
    changed = []
    if not customer_keys or not outbox_dir.is_dir():
        return changed
    keys = set(customer_keys)
    for path in sorted(p for p in outbox_dir.rglob("*") if p.is_file() and p.suffix.lstrip(".") in FORMATS):
        fmt = path.suffix.lstrip(".")
        if fmt == "jsonl":
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            kept = [line for line in lines if json.loads(line)["customer"]["customer_key"] not in keys]
            if len(kept) < len(lines):
                with replacing(path) as partial:
                    partial.write_text("".join(kept), encoding="utf-8")
                changed.append(path)
            continue
        events = pl.read_csv(path, infer_schema=False) if fmt == "csv" else pl.read_parquet(path)
        kept = events.filter(~pl.col("customer_key").is_in(list(keys)))
        if kept.height < events.height:
            _write(kept, path, fmt, path.parent.name)
            changed.append(path)
    return changed


# A cell Excel (and a CRM import that follows it) would run as a formula: '=HYPERLINK(...)', '@SUM(...)', a tab or
# carriage return first, or a sign followed by more than a number ('+cmd|...', '-2+3+cmd|...'). A plain signed
# number such as a phone '+8613812345678' or a masked '+86138****5678' is no formula and stays as it is.
_FORMULA = r"^[=@\t\r]|^[+\-](?:.*[^0-9 ().*\-])"


def spreadsheet_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text cell that a spreadsheet would read as a formula, prefixed with ' (shown as text, not run)."""
    text = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in text
    )


def _write(events: pl.DataFrame, path: Path, fmt: str, destination: str) -> None:
    with replacing(path) as partial:
        if fmt == "csv":
            # with a BOM: Excel, and the CRM import screens that follow it, read UTF-8 Chinese only so
            spreadsheet_safe(events).write_csv(partial, include_bom=True)
        elif fmt == "parquet":
            events.write_parquet(partial)
        else:
            rows = events.iter_rows(named=True)
            lines = [json.dumps(webhook_payload(r, destination), ensure_ascii=False) for r in rows]
            partial.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
