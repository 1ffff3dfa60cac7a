"""Which customers an identity run changed: the log that lets customer-level dbt models rebuild only those.

A customer changed when the set of its record links differs from last run's: a record arrived, left (erasure,
a file replaced with fewer rows) or moved between customers (a merge retires a key, a split issues one), a
record's evidence changed (link rule, identifiers shared, identifier group) or its content did (its file was delivered
again with other bytes: the file's SHA-256 is part of the link). A changed survivorship ranking changes every
customer's golden record, so it logs them all.

identity.customer_changes is append-only, one row per customer per run that changed it, numbered by `run_seq`
(increasing). A dbt model built incrementally remembers the last run_seq it applied (macros/customer_increment.sql),
so a run whose dbt step failed leaves its changes for the next one, and nothing is lost between runs.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

DDL = """create table if not exists identity.customer_changes (
    run_seq bigint not null, run_id varchar not null, changed_at timestamp not null,
    customer_key varchar not null, change varchar not null)"""

# What a record link says: any difference makes its customer (old and new) changed. Not the Splink score and the
# source it matched: Splink estimates its model again every run, so every score moves a little every run; a
# customer's links change when a match is accepted or dropped (link_rule, identifier groups), not when its score
# moves. A model built incrementally keeps the score of the run that last changed the customer.
LINK_STATE = [
    "source_name",
    "source_file",
    "source_row_number",
    "source_file_sha256",
    "entity",
    "link_rule",
    "linked_by",
    "identifier_group",
    "observed_at",
]


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?"
        " and table_catalog = current_database()",
        [schema, table],
    ).fetchall()
    return {r[0] for r in rows}  # empty when the table does not exist


def _state(table: str, columns: set[str], where: str = "") -> str:
    """Per customer: how many links and an order-free digest of them (XOR of row hashes; a row is unique by lineage)."""
    values = ", ".join(c if c in columns else "null" for c in LINK_STATE)
    return f"""select customer_key, count(*) as links, bit_xor(hash({values})) as digest
        from {table} {where} group by customer_key"""


def log_customer_changes(
    con: duckdb.DuckDBPyConnection,
    new_links: str,
    run_id: str,
    now: datetime,
    trust_changed: bool,
    previous_customers: str | None = None,
) -> int:
    """Append to identity.customer_changes the customers whose links differ between identity.record_links (last
    run's, if any) and `new_links` (this run's, same columns); every customer when `trust_changed`. Returns the
    number of customers logged.

    previous_customers: a query of the customer keys `new_links` replaces (an increment's), when it holds only
    some customers' links; the others are unchanged.
    """
    con.execute(DDL)
    [(run_seq,)] = con.execute("select coalesce(max(run_seq), 0) + 1 from identity.customer_changes").fetchall()
    new = _state(new_links, table_columns(con, *new_links.split(".")))
    old_columns = table_columns(con, "identity", "record_links")
    scope = f"where customer_key in ({previous_customers})" if previous_customers else ""
    old = _state("identity.record_links", old_columns, scope) if old_columns else f"select * from ({new}) limit 0"
    if trust_changed:
        changed = f"""select n.customer_key,
                   case when o.customer_key is null then 'new' else 'survivorship' end as change
            from ({new}) n left join ({old}) o using (customer_key)
            union all
            select customer_key, 'removed' from ({old}) anti join ({new}) using (customer_key)"""
    else:
        changed = f"""select coalesce(n.customer_key, o.customer_key) as customer_key,
                   case when o.customer_key is null then 'new'
                        when n.customer_key is null then 'removed'
                        else 'links' end as change
            from ({new}) n full join ({old}) o on n.customer_key = o.customer_key
            where n.customer_key is null or o.customer_key is null or n.links <> o.links or n.digest <> o.digest"""
    [(logged,)] = con.execute(
        f"insert into identity.customer_changes select ?, ?, ?, customer_key, change from ({changed})",
        [run_seq, run_id, now],
    ).fetchall()
    return logged


def trust_changed(con: duckdb.DuckDBPyConnection, ranking: list[str]) -> bool:
    """Whether the survivorship ranking differs from the one last run wrote (identity.source_trust)."""
    if not table_columns(con, "identity", "source_trust"):
        return False  # first run: every customer is new anyway
    previous = [
        r[0] for r in con.execute("select source_name from identity.source_trust order by trust_rank").fetchall()
    ]
    return previous != list(ranking)
