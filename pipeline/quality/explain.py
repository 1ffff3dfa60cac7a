"""Why a run graded nobody: the answer a person needs instead of "customer_grades is empty".

Grades come from orders. When there are none to grade, either no order reached raw.orders (no contract maps
the entity, its files matched nothing, or validation quarantined every row: the rules that did, with their
counts and what they check) or the orders loaded are not purchases of a known customer before the as-of date.
"""

from __future__ import annotations

import duckdb

from pipeline.quality.reconcile import latest_stopped_files
from pipeline.quality.suites import suite_for


def no_orders_delivered(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether no order reached the warehouse at all, loaded, quarantined or stopped: a company that sends its
    registry (or its contacts, tickets, surveys) and no sales. Nothing is graded, and that is no data fault."""
    [(loaded,)] = con.execute("select count(*) from raw.orders").fetchall()
    [(quarantined,)] = con.execute("select count(*) from dq.quarantine where entity = 'orders'").fetchall()
    return loaded == 0 and quarantined == 0 and not latest_stopped_files(con, "orders")


def why_nothing_graded(con: duckdb.DuckDBPyConnection, as_of_date=None) -> str:
    [(loaded,)] = con.execute("select count(*) from raw.orders").fetchall()
    rules = con.execute(
        """select rule, count(distinct (source, file, row_number)) as rows from dq.quarantine
           where entity = 'orders' group by rule order by rows desc, rule limit 3"""
    ).fetchall()
    stopped = latest_stopped_files(con, "orders")[:3]
    if no_orders_delivered(con):
        return (
            "no order was loaded: no source contract maps entity `orders`, or its path matched no file under "
            "sources.root"
        )
    if loaded == 0:
        descriptions = {r.name: r.description for r in suite_for("orders").rules}
        parts = [f"{rule} ({n:,} rows): {descriptions.get(rule, 'a reader rule')}" for rule, n in rules]
        parts += [f"file {source} {file} {status}: {message}" for source, file, status, message in stopped]
        return "no order was loaded; quarantined by " + "; ".join(parts) + " (details: dq.quarantine)"
    when = f" before the as-of date {as_of_date}" if as_of_date else ""
    return (
        f"{loaded:,} order lines were loaded, but none is a purchase of a known customer{when} (a purchase "
        "status of grading.yml and a positive value): check the contract's status mapping and the as-of date"
    )
