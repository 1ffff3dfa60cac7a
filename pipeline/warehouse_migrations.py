"""A warehouse built by an earlier version of the job, brought to today's layout in one step.

Every module creates its tables in today's layout (`create table if not exists ...`). A warehouse built before a
column or table changed keeps the older layout; MIGRATIONS lists, oldest first, each change and the statements
that bring an older warehouse to it. Each is applied once and recorded in operations.schema_migrations; on a new
warehouse the tables do not exist yet, so the statements do nothing and the migration is recorded all the same.
`migrate` runs before a run's first step reads or writes (pipeline/defs/resources.py, pipeline/runs/job.py) and
before a command writes to the warehouse (pipeline/config.py connect_warehouse); docs/monitoring.md, "Running it".

The raw tables are not listed here: they follow the canonical schema (pipeline/contracts/schema.py), and the
loader adds a column the schema gained (pipeline/ingest/loader.py ensure_tables). dbt's tables need none, but for
the snapshots, which keep every run's rows: a column they rename is renamed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

TABLE = "operations.schema_migrations"


@dataclass(frozen=True)
class Migration:
    name: str  # unique and never changed once released: what operations.schema_migrations records
    why: str
    statements: tuple[str, ...] = ()
    # tables moved to another schema with their rows, (from, to) as schema.table: when the old one exists
    moves: tuple[tuple[str, str], ...] = ()


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "2026-10-identity-runs-columns",
        "identity.runs gained the increment's mode, the merge ledger's counts and the matching plan",
        tuple(
            f"alter table if exists identity.runs add column if not exists {column} {kind}"
            for column, kind in (
                ("changed_customers", "bigint"),
                ("mode", "varchar"),
                ("mode_reason", "varchar"),
                ("resolved_records", "bigint"),
                ("state_fingerprint", "varchar"),
                ("merges", "bigint"),
                ("unmerges", "bigint"),
                ("kept_apart", "bigint"),
                ("matching_plan", "json"),
            )
        ),
    ),
    Migration(
        "2026-10-reconciliation-columns",
        "dq.reconciliation gained the as-of date, rows of erased people and redelivered orders",
        (
            "alter table if exists dq.reconciliation add column if not exists as_of_date date",
            "alter table if exists dq.reconciliation add column if not exists rows_suppressed bigint default 0",
            "alter table if exists dq.reconciliation add column if not exists orders_redelivered bigint default 0",
        ),
    ),
    Migration(
        "2026-10-ingest-manifest-columns",
        "the ingest manifest gained rows read and validated and the hash method",
        (
            "alter table if exists raw._ingest_manifest add column if not exists rows_read bigint",
            "alter table if exists raw._ingest_manifest add column if not exists rows_validated bigint",
            "alter table if exists raw._ingest_manifest add column if not exists hash_method varchar",
        ),
    ),
    Migration(
        "2026-11-spec-text-in-versions",
        "the grading spec's text moved from grading_spec.source to grading_spec.versions",
        tuple(
            f"drop table if exists {schema}.source"
            for schema in ("grading_spec", "grading_spec_shadow", "grading_spec_regrade")
        ),
    ),
    Migration(
        "2026-12-tags-out-of-marts",
        "the tags moved from marts (dbt's schema) to their own schema, tags",
        ("drop table if exists marts.customer_tags",),
    ),
    Migration(
        "2026-12-evaluation-schema",
        "the tables Python writes beside dbt's moved to their own schema, evaluation: one writer per schema",
        statements=tuple(
            f"drop table if exists monitoring.{table}"  # recomputed whole by every run
            for table in ("backtest_groups", "backtest_scores", "backtest_recommendations", "spec_backtest")
        ),
        moves=(
            ("monitoring.shadow_grade_comparison", "evaluation.shadow_grade_comparison"),
            ("history.variant_grades", "evaluation.variant_grades"),
        ),
    ),
    Migration(
        "2026-12-lifetime-frequency",
        "fct_customer's lifetime measures are named lifetime_*: the grading inputs kept per run follow, so a past "
        "day is graded again from its own rows (dbt rebuilds the tables; the snapshot is kept)",
        ("alter table if exists history.grading_input_customers rename column frequency to lifetime_frequency",),
    ),
)


def _move(con: duckdb.DuckDBPyConnection, old: str, new: str) -> None:
    """Table `old` (schema.table) becomes `new`, rows and types as they were; nothing when `old` is absent."""
    schema, table = old.split(".")
    present = con.execute(
        "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?", [schema, table]
    ).fetchone()[0]
    if not present:
        return
    con.execute(f"create schema if not exists {new.split('.')[0]}")
    con.execute(f"create table {new} as select * from {old}")
    con.execute(f"drop table {old}")


def pending(con: duckdb.DuckDBPyConnection) -> list[Migration]:
    """The migrations this warehouse has not had."""
    exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'operations' and table_name = 'schema_migrations'"
    ).fetchone()[0]
    done = {name for (name,) in con.execute(f"select name from {TABLE}").fetchall()} if exists else set()
    return [m for m in MIGRATIONS if m.name not in done]


def migrate(con: duckdb.DuckDBPyConnection) -> list[Migration]:
    """Apply the pending migrations, each in its own transaction with its record; returns those applied."""
    todo = pending(con)
    if not todo:
        return []
    con.execute("create schema if not exists operations")
    con.execute(f"create table if not exists {TABLE} (name varchar primary key, why varchar, applied_at timestamp)")
    for migration in todo:
        con.execute("begin transaction")
        try:
            for statement in migration.statements:
                con.execute(statement)
            for old, new in migration.moves:
                _move(con, old, new)
            con.execute(
                f"insert into {TABLE} values (?, ?, current_timestamp::timestamp)", [migration.name, migration.why]
            )
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
    return todo
